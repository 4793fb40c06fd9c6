//! The proxy's answer as an HTTP answer, for every endpoint that routes
//! (`/v1/chat/completions`, `/v1/embeddings`, `/v1/messages`): the route
//! looked up, the request handed to [`Proxy::serve`](steadfast_proxy::Proxy::serve),
//! the reply or the reason there is none mapped to one status, body and the
//! gateway's headers.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use steadfast_proxy::engine::{Failed, Unserved};
use steadfast_proxy::headers::{ATTEMPTS, CACHE, DROPPED_FIELDS, STATIC, TARGET};
use steadfast_proxy::inbound::Inbound;
use steadfast_proxy::outcome;
use steadfast_proxy::runtime::shed::Shed;
use steadfast_proxy::runtime::{ClientPass, Runtime};
use steadfast_proxy::{Answer, Refused, Reply, Source};
use steadfast_wire::Format;
use steadfast_wire::fields::Fields;

use super::error::ApiError;
use crate::state::AppState;

/// Tokens assumed for an answer when the request sets no `max_tokens`.
const DEFAULT_ANSWER_TOKENS: u64 = 256;

/// A rough token estimate for rate limits: about four bytes a token for the
/// prompt, plus the answer's `max_tokens`. Corrected from the usage returned.
pub(super) fn estimate_tokens(fields: &Fields, body_len: usize) -> u64 {
    let answer = ["max_completion_tokens", "max_tokens", "max_output_tokens"]
        .iter()
        .find_map(|key| fields.get::<u64>(key))
        .unwrap_or(DEFAULT_ANSWER_TOKENS);
    steadfast_wire::tokens::estimate(body_len) + answer
}

/// A client's request as parsed for routing.
pub(super) struct Routed {
    /// The route it names.
    pub(super) route: String,
    /// The request as the proxy takes it.
    pub(super) inbound: Inbound,
    /// Tokens it is estimated to use.
    pub(super) units: u64,
}

/// Serves a routed request, answering in the client's format (errors too,
/// once the route is known); `pass` holds the client's slot until the
/// answer has ended.
pub(super) async fn forward(
    app: &Arc<AppState>,
    runtime: &Runtime,
    pass: ClientPass,
    routed: Routed,
    request_id: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let Routed {
        route,
        inbound,
        units,
    } = routed;
    let Some(route) = runtime.routes.get(route.as_str()) else {
        let mut known: Vec<&str> = runtime.routes.keys().map(|name| &**name).collect();
        known.sort_unstable();
        return Err(ApiError::unknown_route(&route, &known));
    };
    let format = inbound.format;
    let priority = super::clients::priority(runtime, &pass, headers)?;
    let client = pass.client.clone();
    let request = steadfast_proxy::Request {
        inbound,
        units,
        request_id,
        headers,
        priority,
        client: client.as_deref(),
    };
    let stall = runtime.config.server.write_timeout.0;
    match app.proxy.serve(route, request).await {
        Ok(reply) => Ok(respond(reply, stall, pass)),
        Err(Refused::Unsupported(message)) => Err(ApiError::bad_request("invalid_value", message)),
        Err(Refused::Failed(failed)) => Ok(unserved(route.name(), failed, format)),
        Err(Refused::Shed(shed)) => Ok(shed_answer(route.name(), &shed, format)),
    }
}

fn respond(reply: Reply, stall: Duration, pass: ClientPass) -> Response {
    let mut response = match reply.answer {
        Answer::Whole(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Answer::Stream(events) => Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(super::relay::relay(events, stall, pass))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    };
    let targets: Vec<&str> = reply.targets.iter().map(|name| &**name).collect();
    let target = (!targets.is_empty()).then(|| targets.join(","));
    add_attempt_headers(response.headers_mut(), target.as_deref(), reply.attempts);
    let headers = response.headers_mut();
    if !reply.dropped.is_empty() {
        if let Ok(dropped) = HeaderValue::from_str(&reply.dropped.join(", ")) {
            headers.insert(DROPPED_FIELDS, dropped);
        }
    }
    match reply.source {
        Source::Upstream => {}
        Source::CacheHit => {
            headers.insert(CACHE, HeaderValue::from_static("hit"));
        }
        Source::Stale => {
            headers.insert(CACHE, HeaderValue::from_static("stale"));
        }
        Source::Static => {
            headers.insert(STATIC, HeaderValue::from_static("true"));
        }
    }
    response
}

/// The answer to a request the route shed: 503 with `Retry-After`.
fn shed_answer(route: &str, shed: &Shed, format: Format) -> Response {
    let seconds = shed.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut error = ApiError::unavailable(
        "load_shed",
        format!(
            "Route {route:?} is short of capacity: this {} priority request found no place within {} ms (higher priorities go first). Try again in {seconds} s.",
            shed.priority.as_str(),
            shed.waited.as_millis()
        ),
    );
    error.retry_after = Some(seconds);
    let mut response = error.respond_as(format);
    add_attempt_headers(response.headers_mut(), None, 0);
    response
}

fn add_attempt_headers(headers: &mut HeaderMap, target: Option<&str>, attempts: usize) {
    if let Some(value) = target.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert(TARGET, value);
    }
    headers.insert(ATTEMPTS, HeaderValue::from(attempts));
}

/// The answer when no target served: the client's own error as 4xx, a
/// timeout as 504, anything else as 503 naming what each target did.
fn unserved(route: &str, failed: Failed, format: Format) -> Response {
    let summary = outcome::summary(&failed.attempts);
    let error = match &failed.reason {
        Unserved::Client(error) => ApiError::with_status(
            error
                .status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .filter(StatusCode::is_client_error)
                .unwrap_or(StatusCode::BAD_REQUEST),
            "invalid_request_error",
            error
                .code
                .clone()
                .map_or(Cow::Borrowed("invalid_request"), Cow::Owned),
            error.message.clone(),
        ),
        Unserved::TimedOut { after } => ApiError::timed_out(format!(
            "Route {route:?} found no answer within its time budget of {after:?}. {summary}"
        )),
        Unserved::Exhausted { last: Some(last) } if failed.request_at_fault() => {
            ApiError::with_status(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "context_length_exceeded",
                format!(
                    "The request does not fit the context window of any model of route {route:?}: {}",
                    last.message
                ),
            )
        }
        Unserved::NoQuorum { needed, got } => ApiError::unavailable(
            "quorum_not_reached",
            format!(
                "Route {route:?} needs {needed} answers from different models and got {got}. {summary}"
            ),
        ),
        Unserved::Exhausted { .. } => {
            let code = if outcome::sent(&failed.attempts) == 0 {
                "no_target_available"
            } else {
                "all_targets_failed"
            };
            ApiError::unavailable(
                code,
                format!("Every target of route {route:?} is unavailable. {summary}"),
            )
        }
    };
    let mut response = error.respond_as(format);
    add_attempt_headers(
        response.headers_mut(),
        None,
        outcome::sent(&failed.attempts),
    );
    response
}
