//! The one handler of every client API (OpenAI's chat completions,
//! embeddings and legacy completions, Anthropic's Messages, OpenAI's
//! Responses): admit the client, read the body within size and time, let
//! the API read the fields the gateway needs, hand the request on
//! ([`forward`]) and answer a refusal in the API's own error shape —
//! counted once, here, in `steadfast_invalid_requests_total{endpoint}`.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::response::Response;
use steadfast_proxy::headers::REQUEST_ID;
use steadfast_proxy::inbound::Inbound;
use steadfast_wire::Format;
use steadfast_wire::fields::Fields;

use super::error::ApiError;
use super::forward::{Routed, estimate_tokens, forward};
use super::{body, clients, request_id};
use crate::state::AppState;
use crate::telemetry::INVALID_REQUESTS;

/// What the gateway reads of a client's request; the rest passes through
/// or is translated.
pub(super) struct ClientRequest {
    /// The whole body, to forward or translate.
    pub(super) fields: Fields,
    /// The route, named by the request's `model`.
    pub(super) route: String,
    /// Whether the answer is streamed.
    pub(super) stream: bool,
}

/// One client API: its name in metrics, the format its refusals are
/// written in, how its requests are read, and how one becomes the proxy's.
pub(super) struct ClientApi {
    /// The `endpoint` label of its refusals.
    pub(super) name: &'static str,
    /// The shape of its errors.
    pub(super) format: Format,
    /// Reads the fields the gateway needs, or refuses in the API's words.
    pub(super) parse: fn(&[u8]) -> Result<ClientRequest, ApiError>,
    /// The request as the proxy takes it.
    pub(super) inbound: fn(Fields, bool) -> Inbound,
}

/// Serves one request of `api`. The request is taken whole rather than
/// through a `HeaderMap` extractor, which would copy every header.
pub(super) async fn serve(app: Arc<AppState>, request: Request, api: &ClientApi) -> Response {
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
        let request = (api.parse)(&bytes)?;
        let units = estimate_tokens(&request.fields, bytes.len());
        let routed = Routed {
            route: request.route,
            inbound: (api.inbound)(request.fields, request.stream),
            units,
        };
        forward(&app, &runtime, pass, routed, &request_id, &headers).await
    }
    .await;
    let mut response = result.unwrap_or_else(|error| {
        metrics::counter!(INVALID_REQUESTS, "endpoint" => api.name).increment(1);
        error.respond_as(api.format)
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}
