//! `POST /v1/messages`: Anthropic's Messages API on the gateway, so Anthropic
//! SDK clients get the same routes and resilience. Targets that speak
//! Anthropic get the request as sent (but for `model`); others get it
//! translated, and their answers (plain and streamed) come back in
//! Anthropic's format. Errors have Anthropic's shape here.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::response::Response;
use steadfast_proxy::inbound::Inbound;
use steadfast_wire::Format;
use steadfast_wire::fields::{Fields, Kind};

use super::error::ApiError;
use super::forward::{Routed, estimate_tokens, forward};
use super::{body, clients, request_id};
use crate::state::AppState;

/// `POST /v1/messages`.
pub(super) async fn messages(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let (Parts { headers, .. }, body) = request.into_parts();
    let request_id = request_id(&headers);
    let runtime = app.runtime();
    let server = &runtime.config.server;
    let result = async {
        let pass = clients::admit(&runtime, &headers).await?;
        let bytes = body::read(
            &headers,
            body,
            server.max_body_bytes,
            server.client_timeout.0,
        )
        .await?;
        let (fields, route, stream) = parse(&bytes)?;
        let units = estimate_tokens(&fields, bytes.len());
        let routed = Routed {
            route,
            inbound: Inbound::chat(Format::Anthropic, fields, stream),
            units,
        };
        forward(&app, &runtime, pass, routed, &request_id, &headers).await
    }
    .await;
    let mut response = result.unwrap_or_else(|error| error.respond_as(Format::Anthropic));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(steadfast_proxy::headers::REQUEST_ID, value);
    }
    response
}

/// Checks what the gateway itself needs (and what Anthropic requires of
/// every request), with Anthropic's wording; the rest is the targets' to judge.
fn parse(bytes: &[u8]) -> Result<(Fields, String, bool), ApiError> {
    let invalid = |message: String| ApiError::bad_request("invalid_request", message);
    let fields = Fields::parse(bytes)
        .map_err(|error| invalid(format!("The request body is not a JSON object: {error}.")))?;
    let route = match fields.kind("model") {
        Some(Kind::String) => fields.get::<String>("model").unwrap_or_default(),
        Some(_) => return Err(invalid("model: Input should be a valid string".into())),
        None => return Err(invalid("model: Field required".into())),
    };
    match fields.kind("max_tokens") {
        Some(_) if fields.get::<u64>("max_tokens").is_some() => {}
        Some(_) => {
            return Err(invalid(
                "max_tokens: Input should be a valid integer".into(),
            ));
        }
        None => return Err(invalid("max_tokens: Field required".into())),
    }
    match fields.kind("messages") {
        Some(Kind::Array { empty: false }) => {}
        Some(Kind::Array { empty: true }) => {
            return Err(invalid("messages: at least one message is required".into()));
        }
        Some(_) => return Err(invalid("messages: Input should be a valid list".into())),
        None => return Err(invalid("messages: Field required".into())),
    }
    let stream = match fields.kind("stream") {
        None | Some(Kind::Null) => false,
        Some(Kind::Bool) => fields.get::<bool>("stream").unwrap_or_default(),
        Some(_) => return Err(invalid("stream: Input should be a valid boolean".into())),
    };
    Ok((fields, route, stream))
}
