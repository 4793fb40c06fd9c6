//! `POST /v1/messages`: Anthropic's Messages API on the gateway, so Anthropic
//! SDK clients get the same routes and resilience. Targets that speak
//! Anthropic get the request as sent (but for `model`); others get it
//! translated, and their answers (plain and streamed) come back in
//! Anthropic's format. Errors have Anthropic's shape here.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use steadfast_proxy::inbound::Inbound;
use steadfast_wire::Format;
use steadfast_wire::fields::{Fields, Kind};

use super::client_api::{ClientApi, ClientRequest, serve};
use super::error::ApiError;
use crate::state::AppState;

/// Anthropic's Messages API.
const API: ClientApi = ClientApi {
    name: "messages",
    format: Format::Anthropic,
    parse,
    inbound: |fields, stream| Inbound::chat(Format::Anthropic, fields, stream),
};

/// `POST /v1/messages`.
pub(super) async fn messages(State(app): State<Arc<AppState>>, request: Request) -> Response {
    serve(app, request, &API).await
}

/// Checks what the gateway itself needs (and what Anthropic requires of
/// every request), with Anthropic's wording; the rest is the targets' to judge.
fn parse(bytes: &[u8]) -> Result<ClientRequest, ApiError> {
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
    Ok(ClientRequest {
        fields,
        route,
        stream,
    })
}
