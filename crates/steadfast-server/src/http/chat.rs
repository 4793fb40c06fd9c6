//! `POST /v1/chat/completions`, `POST /v1/embeddings` and the legacy
//! `POST /v1/completions` (passed through to OpenAI-compatible targets only): parse just enough
//! of the request to route it, pass every other field through untouched,
//! and hand it on ([`forward`](super::forward)).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use steadfast_proxy::inbound::Inbound;
use steadfast_wire::Format;
use steadfast_wire::fields::{Fields, Kind};

use super::client_api::{ClientApi, ClientRequest, serve};
use super::error::ApiError;
use crate::state::AppState;

/// Which OpenAI endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Chat,
    Embeddings,
    Completions,
}

impl Endpoint {
    /// The endpoint's name in metrics labels.
    const fn name(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat_completions",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Completions => "completions",
        }
    }

    const fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::Embeddings => "/embeddings",
            Endpoint::Completions => "/completions",
        }
    }
}

/// The chat completions API.
const CHAT: ClientApi = ClientApi {
    name: Endpoint::Chat.name(),
    format: Format::Openai,
    parse: |bytes| parse(bytes, Endpoint::Chat),
    inbound: |fields, stream| Inbound::chat(Format::Openai, fields, stream),
};

/// The embeddings API (OpenAI-compatible targets only).
const EMBEDDINGS: ClientApi = ClientApi {
    name: Endpoint::Embeddings.name(),
    format: Format::Openai,
    parse: |bytes| parse(bytes, Endpoint::Embeddings),
    inbound: |fields, stream| {
        Inbound::native(Format::Openai, Endpoint::Embeddings.path(), fields, stream)
    },
};

/// The legacy completions API (OpenAI-compatible targets only).
const COMPLETIONS: ClientApi = ClientApi {
    name: Endpoint::Completions.name(),
    format: Format::Openai,
    parse: |bytes| parse(bytes, Endpoint::Completions),
    inbound: |fields, stream| {
        Inbound::native(Format::Openai, Endpoint::Completions.path(), fields, stream)
    },
};

/// `POST /v1/chat/completions`.
pub(super) async fn chat(State(app): State<Arc<AppState>>, request: Request) -> Response {
    serve(app, request, &CHAT).await
}

/// `POST /v1/embeddings`.
pub(super) async fn embeddings(State(app): State<Arc<AppState>>, request: Request) -> Response {
    serve(app, request, &EMBEDDINGS).await
}

/// `POST /v1/completions` (legacy text completions).
pub(super) async fn completions(State(app): State<Arc<AppState>>, request: Request) -> Response {
    serve(app, request, &COMPLETIONS).await
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
