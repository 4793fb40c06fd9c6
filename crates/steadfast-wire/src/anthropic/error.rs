//! Anthropic's error shape, `{"type":"error","error":{"type","message"}}`,
//! and the HTTP status each of its error types stands for.

use serde_json::{Value, json};
use steadfast::classify::http::classify_status;
use steadfast::{Failure, Outcome};

use crate::StreamError;

/// The error types Anthropic documents, with their HTTP statuses.
const TYPES: [(&str, u16); 9] = [
    ("invalid_request_error", 400),
    ("authentication_error", 401),
    ("permission_error", 403),
    ("not_found_error", 404),
    ("request_too_large", 413),
    ("rate_limit_error", 429),
    ("api_error", 500),
    ("timeout_error", 504),
    ("overloaded_error", 529),
];

/// The error type for an HTTP status (503 reads as overloaded).
pub fn error_type(status: u16) -> &'static str {
    match status {
        503 => "overloaded_error",
        _ => TYPES.iter().find(|(_, known)| *known == status).map_or(
            if status < 500 {
                "invalid_request_error"
            } else {
                "api_error"
            },
            |(name, _)| name,
        ),
    }
}

/// An error body in Anthropic's shape.
pub fn error_body(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

/// The failure an `error` event of a stream reports, judged as the HTTP
/// status of its error type would be (`overloaded_error` as 529, and so on).
pub fn stream_error(event: &Value, data: &str) -> StreamError {
    let error = &event["error"];
    let status = error["type"]
        .as_str()
        .and_then(|kind| TYPES.iter().find(|(name, _)| *name == kind))
        .map_or(500, |(_, status)| *status);
    let failure = match classify_status(status, None, data.as_bytes()) {
        Outcome::Failure(failure) => failure,
        Outcome::Success => Failure::transient(),
    };
    StreamError {
        failure,
        message: crate::sanitise::bounded(error["message"].as_str().unwrap_or("unknown error")),
    }
}
