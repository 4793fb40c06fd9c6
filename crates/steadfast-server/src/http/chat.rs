//! `POST /v1/chat/completions`, `POST /v1/embeddings` and the legacy
//! `POST /v1/completions` (passed through to OpenAI-compatible targets only): parse just enough
//! of the request to route it, pass every other field through untouched,
//! and hand it on ([`forward`](super::forward)).

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

/// Which OpenAI endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Chat,
    Embeddings,
    Completions,
}

impl Endpoint {
    /// The endpoint's name in metrics labels.
    fn name(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat_completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Completions => "completions",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::Embeddings => "/embeddings",
            Endpoint::Completions => "/completions",
        }
    }
}

/// `POST /v1/chat/completions`.
pub(super) async fn chat(State(app): State<Arc<AppState>>, request: Request) -> Response {
    serve(app, request, Endpoint::Chat).await
}

/// `POST /v1/embeddings`.
pub(super) async fn embeddings(State(app): State<Arc<AppState>>, request: Request) -> Response {
    serve(app, request, Endpoint::Embeddings).await
}

/// `POST /v1/completions` (legacy text completions).
pub(super) async fn completions(State(app): State<Arc<AppState>>, request: Request) -> Response {
    serve(app, request, Endpoint::Completions).await
}

/// The request taken whole rather than through a `HeaderMap` extractor, which
/// would copy every header.
async fn serve(app: Arc<AppState>, request: Request, endpoint: Endpoint) -> Response {
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
        let request = parse(&bytes, endpoint)?;
        let units = estimate_tokens(&request.fields, bytes.len());
        let inbound = match endpoint {
            Endpoint::Chat => Inbound::chat(Format::Openai, request.fields, request.stream),
            Endpoint::Embeddings | Endpoint::Completions => Inbound::native(
                Format::Openai,
                endpoint.path(),
                request.fields,
                request.stream,
            ),
        };
        let routed = Routed {
            route: request.route,
            inbound,
            units,
        };
        forward(&app, &runtime, pass, routed, &request_id, &headers).await
    }
    .await;
    let mut response = result.unwrap_or_else(|error| {
        metrics::counter!(INVALID_REQUESTS, "endpoint" => endpoint.name()).increment(1);
        error.into_response()
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The fields the gateway reads; the rest passes through.
struct ClientRequest {
    fields: Fields,
    route: String,
    stream: bool,
}

fn parse(bytes: &[u8], endpoint: Endpoint) -> Result<ClientRequest, ApiError> {
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
    match endpoint {
        Endpoint::Chat => match fields.kind("messages") {
            Some(Kind::Array { empty: false }) => {}
            Some(Kind::Array { empty: true }) => {
                return Err(ApiError::bad_request(
                    "invalid_value",
                    "'messages' must not be empty.",
                ));
            }
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid_type",
                    "'messages' must be an array.",
                ));
            }
            None => {
                return Err(ApiError::bad_request(
                    "missing_field",
                    "'messages' is a required property.",
                ));
            }
        },
        Endpoint::Embeddings => {
            if !fields.contains("input") {
                return Err(ApiError::bad_request(
                    "missing_field",
                    "'input' is a required property.",
                ));
            }
        }
        Endpoint::Completions => {
            if !fields.contains("prompt") {
                return Err(ApiError::bad_request(
                    "missing_field",
                    "'prompt' is a required property.",
                ));
            }
        }
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
    if stream && endpoint == Endpoint::Embeddings {
        return Err(ApiError::bad_request(
            "invalid_value",
            "Embeddings cannot be streamed.",
        ));
    }
    Ok(ClientRequest {
        fields,
        route,
        stream,
    })
}
