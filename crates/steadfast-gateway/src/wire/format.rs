//! Dispatch on a wire format ([`ProviderKind`]): the converters of each
//! format behind one set of functions.

use serde_json::{Map, Value};

use super::{ChatRequest, ChatResponse, Decode, Encode, WireError, anthropic, openai};
use crate::config::ProviderKind;

/// The chat path of a format, relative to a provider's base URL.
pub fn chat_path(format: ProviderKind) -> &'static str {
    match format {
        ProviderKind::Openai => "/chat/completions",
        ProviderKind::Anthropic => "/v1/messages",
    }
}

/// The path of a format's model list (health probes), relative to a
/// provider's base URL.
pub fn models_path(format: ProviderKind) -> &'static str {
    match format {
        ProviderKind::Openai => "/models",
        ProviderKind::Anthropic => "/v1/models",
    }
}

/// Reads a chat request in `format`.
pub fn parse_request(
    format: ProviderKind,
    fields: &Map<String, Value>,
) -> Result<ChatRequest, WireError> {
    match format {
        ProviderKind::Openai => openai::parse_request(fields),
        ProviderKind::Anthropic => anthropic::parse_request(fields),
    }
}

/// Writes a chat request in `format` for the upstream `model`.
pub fn write_request(format: ProviderKind, request: &ChatRequest, model: &str) -> Value {
    match format {
        ProviderKind::Openai => openai::write_request(request, model),
        ProviderKind::Anthropic => anthropic::write_request(request, model),
    }
}

/// Reads a whole answer in `format`.
pub fn parse_response(format: ProviderKind, body: &Value) -> Result<ChatResponse, WireError> {
    match format {
        ProviderKind::Openai => openai::parse_response(body),
        ProviderKind::Anthropic => anthropic::parse_response(body),
    }
}

/// Writes a whole answer in `format`.
pub fn write_response(format: ProviderKind, response: &ChatResponse) -> Value {
    match format {
        ProviderKind::Openai => openai::write_response(response),
        ProviderKind::Anthropic => anthropic::write_response(response),
    }
}

/// A reader of streams in `format`.
pub fn decoder(format: ProviderKind) -> Box<dyn Decode> {
    match format {
        ProviderKind::Openai => Box::new(openai::Decoder::default()),
        ProviderKind::Anthropic => Box::new(anthropic::Decoder::default()),
    }
}

/// A writer of streams in `format`; `include_usage` is OpenAI's
/// `stream_options.include_usage` (Anthropic streams always report usage).
pub fn encoder(format: ProviderKind, include_usage: bool) -> Box<dyn Encode> {
    match format {
        ProviderKind::Openai => Box::new(openai::Encoder::new(include_usage)),
        ProviderKind::Anthropic => Box::new(anthropic::Encoder::default()),
    }
}
