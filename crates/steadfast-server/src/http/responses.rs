//! `POST /v1/responses`: OpenAI's Responses API on the gateway, plain and
//! streamed (its typed event stream), over the same routes and strategies;
//! every target gets the request translated into its own format. The gateway
//! stores no responses: `previous_response_id` is refused with a 400 that
//! says to send the conversation in `input`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use steadfast_proxy::headers::REQUEST_ID;
use steadfast_proxy::inbound::Inbound;
use steadfast_wire::Format;
use steadfast_wire::fields::{Fields, Kind};

use super::error::ApiError;
use super::forward::{Routed, estimate_tokens, forward};
use super::{body, clients, request_id};
use crate::state::AppState;
use crate::telemetry::INVALID_REQUESTS;

/// `POST /v1/responses`.
pub(super) async fn responses(State(app): State<Arc<AppState>>, request: Request) -> Response {
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
            inbound: Inbound::chat(Format::Responses, fields, stream),
            units,
        };
        forward(&app, &runtime, pass, routed, &request_id, &headers).await
    }
    .await;
    let mut response = result.unwrap_or_else(|error| {
        metrics::counter!(INVALID_REQUESTS, "endpoint" => "responses").increment(1);
        error.into_response()
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The fields the gateway needs; the rest is translated for each target.
fn parse(bytes: &[u8]) -> Result<(Fields, String, bool), ApiError> {
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
    Ok((fields, route, stream))
}
