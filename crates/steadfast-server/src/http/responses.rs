//! `POST /v1/responses`: OpenAI's Responses API on the gateway, plain and
//! streamed (its typed event stream), over the same routes and strategies;
//! every target gets the request translated into its own format. The gateway
//! stores no responses: `previous_response_id` is refused with a 400 that
//! says to send the conversation in `input`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use steadfast_proxy::inbound::Inbound;
use steadfast_wire::Format;
use steadfast_wire::fields::{Fields, Kind};

use super::client_api::{ClientApi, ClientRequest, serve};
use super::error::ApiError;
use crate::state::AppState;

/// OpenAI's Responses API.
const API: ClientApi = ClientApi {
    name: "responses",
    format: Format::Responses,
    parse,
    inbound: |fields, stream| Inbound::chat(Format::Responses, fields, stream),
};

/// `POST /v1/responses`.
pub(super) async fn responses(State(app): State<Arc<AppState>>, request: Request) -> Response {
    serve(app, request, &API).await
}

/// The fields the gateway needs; the rest is translated for each target.
fn parse(bytes: &[u8]) -> Result<ClientRequest, ApiError> {
    let fields = Fields::parse(bytes).map_err(|error| {
        ApiError::bad_request(
            "invalid_json",
            format!("The request body is not a JSON object: {error}."),
        )
    })?;
    let route = match fields.kind("model") {
        Some(Kind::String) => fields.get::<String>("model").unwrap_or_default(),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "'model' must be a string.",
            ));
        }
        None => {
            return Err(ApiError::bad_request(
                "missing_field",
                "'model' is a required property.",
            ));
        }
    };
    match fields.kind("input") {
        Some(Kind::String | Kind::Array { empty: false }) => {}
        Some(Kind::Array { empty: true }) => {
            return Err(ApiError::bad_request(
                "invalid_value",
                "'input' must not be empty.",
            ));
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "'input' must be a string or an array of items.",
            ));
        }
        None => {
            return Err(ApiError::bad_request(
                "missing_field",
                "'input' is a required property.",
            ));
        }
    }
    if !matches!(fields.kind("previous_response_id"), None | Some(Kind::Null)) {
        return Err(ApiError::bad_request(
            "unsupported_parameter",
            "'previous_response_id' is not supported: this gateway stores no responses. Send the whole conversation in 'input'.",
        ));
    }
    let stream = match fields.kind("stream") {
        None | Some(Kind::Null) => false,
        Some(Kind::Bool) => fields.get::<bool>("stream").unwrap_or_default(),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "'stream' must be a boolean.",
            ));
        }
    };
    Ok(ClientRequest {
        fields,
        route,
        stream,
    })
}
