//! Admission of clients: when client keys are configured, a model request
//! must carry a known key (`Authorization: Bearer <key>` or `x-api-key`) and
//! stay within that client's request limit.

use axum::http::{HeaderMap, header};
use steadfast_proxy::runtime::Runtime;

use super::error::ApiError;

/// Checks the request's client key and takes one request from its allowance;
/// returns the client's name (for logs) when keys are in use.
pub(super) async fn admit(
    runtime: &Runtime,
    headers: &HeaderMap,
) -> Result<Option<String>, ApiError> {
    if !runtime.clients.required() {
        return Ok(None);
    }
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .unwrap_or_default();
    let client = runtime
        .clients
        .find(key)
        .ok_or_else(|| ApiError::unauthorized("Incorrect or missing API key for this gateway."))?;
    client.admit().await.map_err(|limited| {
        let mut error = ApiError::with_status(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limit_exceeded",
            format!("Client {:?} is over its request limit.", &*client.name),
        );
        error.retry_after = Some(limited.retry_after.as_secs_f64().ceil().max(1.0) as u64);
        error
    })?;
    Ok(Some(client.name.to_string()))
}
