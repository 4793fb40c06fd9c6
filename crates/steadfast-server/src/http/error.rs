//! Every error the gateway answers with, in one place, in OpenAI's shape:
//! `{"error": {"message", "type", "code"}}`, or in Anthropic's,
//! `{"type": "error", "error": {"type", "message"}}`, on `/v1/messages`.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use steadfast_wire::Format;
use steadfast_wire::{anthropic, gemini};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A message for the client; never an upstream body or a secret.
    pub message: String,
    /// OpenAI's error `type`.
    pub kind: &'static str,
    /// OpenAI's error `code` (the gateway's own, or a provider's refusal code).
    pub code: Cow<'static, str>,
    /// Seconds for a `Retry-After` header, if the client should wait.
    pub retry_after: Option<u64>,
    /// The request body was left unread: the connection cannot carry another
    /// request, so the answer says `Connection: close`.
    pub body_unread: bool,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            kind,
            code: code.into(),
            retry_after: None,
            body_unread: false,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            code,
            message,
        )
    }

    /// 404: no route of that name.
    pub fn unknown_route(name: &str, known: &[&str]) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
            format!(
                "The model {name:?} does not exist on this gateway. Available: {}.",
                known.join(", ")
            ),
        )
    }

    /// 404: no such path or admin object.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "not_found",
            message,
        )
    }

    /// 413: the body is larger than allowed.
    pub fn too_large(limit: u64) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "request_too_large",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
        .with_body_unread()
    }

    /// 408: the client took too long to send its request.
    pub fn client_timeout() -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            "request_timeout",
            "The request body was not received in time.",
        )
        .with_body_unread()
    }

    fn with_body_unread(self) -> ApiError {
        ApiError {
            body_unread: true,
            ..self
        }
    }

    /// 401: a missing or wrong bearer token.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_api_key",
            message,
        )
    }

    /// 503: no target could serve the request.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            code,
            message,
        )
    }

    /// 504: the route's time budget ran out.
    pub fn timed_out(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout_error",
            "route_timeout",
            message,
        )
    }

    /// Any status with a message, for errors judged elsewhere.
    pub fn with_status(
        status: StatusCode,
        kind: &'static str,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError::new(status, kind, code, message)
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": null, "code": self.code}})
    }
}

impl ApiError {
    /// The answer in the shape of a client's format: Anthropic's error type
    /// follows from the status (503 is `overloaded_error`). No endpoint takes
    /// Gemini's format yet; its shape is there for one.
    pub fn respond_as(self, format: Format) -> Response {
        match format {
            Format::Openai | Format::Responses | Format::Bedrock => self.into_response(),
            Format::Anthropic => {
                let kind = anthropic::error_type(self.status.as_u16());
                let body = anthropic::error_body(kind, &self.message);
                self.with_body(body)
            }
            Format::Gemini => {
                let body = gemini::error_body(self.status.as_u16(), self.kind, &self.message);
                self.with_body(body)
            }
        }
    }

    fn with_body(self, body: serde_json::Value) -> Response {
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.body_unread {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        self.with_body(body)
    }
}
