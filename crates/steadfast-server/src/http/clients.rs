//! Admission of clients: when client keys are configured, every request to
//! `/v1/*` must carry a known key (`Authorization: Bearer <key>` or
//! `x-api-key`), and a model request must stay within that client's limits.

use std::sync::Arc;

use axum::http::HeaderMap;
use steadfast_config::Priority;
use steadfast_proxy::runtime::{Client, ClientPass, ClientRefusal, Runtime};

use super::auth::bearer;
use super::error::ApiError;

/// The client whose key the request carries, when keys are in use; 401
/// when it carries none or an unknown one.
pub(super) fn identify<'r>(
    runtime: &'r Runtime,
    headers: &HeaderMap,
) -> Result<Option<&'r Arc<Client>>, ApiError> {
    if !runtime.clients.required() {
        return Ok(None);
    }
    let key = match bearer(headers) {
        "" => headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or_default(),
        key => key,
    };
    runtime
        .clients
        .find(key)
        .map(Some)
        .ok_or_else(|| ApiError::unauthorized("Incorrect or missing API key for this gateway."))
}

/// The header that sets a request's priority, where `server.priority_header` allows.
pub(super) const PRIORITY: &str = "x-steadfast-priority";

/// The request's priority: its client's, or, where `server.priority_header`
/// allows, its header's (never above its client's own, when keys are in use).
pub(super) fn priority(
    runtime: &Runtime,
    pass: &ClientPass,
    headers: &HeaderMap,
) -> Result<Priority, ApiError> {
    let asked = headers
        .get(PRIORITY)
        .filter(|_| runtime.config.server.priority_header);
    let Some(asked) = asked else {
        return Ok(pass.priority);
    };
    let asked = asked
        .to_str()
        .ok()
        .and_then(|name| Priority::from_name(name.trim()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_priority",
                format!("{PRIORITY} must be one of low, normal, high, critical."),
            )
        })?;
    Ok(if runtime.clients.required() {
        asked.min(pass.priority)
    } else {
        asked
    })
}

/// Checks the request's client key, takes one request from its allowance
/// and one of its slots for requests in flight (held by the pass until the
/// answer has ended); with no keys configured, an empty pass.
pub(super) async fn admit(runtime: &Runtime, headers: &HeaderMap) -> Result<ClientPass, ApiError> {
    let Some(client) = identify(runtime, headers)? else {
        return Ok(ClientPass::default());
    };
    client.admit().await.map_err(|refusal| {
        let (code, message, retry_after) = match refusal {
            ClientRefusal::RateLimited(limited) => (
                "rate_limit_exceeded",
                format!("Client {:?} is over its request limit.", &*client.name),
                limited.retry_after.as_secs_f64().ceil().max(1.0) as u64,
            ),
            ClientRefusal::TooManyInFlight { limit } => (
                "concurrency_limit_exceeded",
                format!(
                    "Client {:?} has {limit} requests in flight, as many as it may (an open stream counts until it ends).",
                    &*client.name
                ),
                1,
            ),
        };
        let mut error = ApiError::with_status(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            code,
            message,
        );
        error.retry_after = Some(retry_after);
        error
    })
}
