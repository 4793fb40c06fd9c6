//! The wire formats ([`Format`]) and dispatch on them: the converters of
//! each format behind one set of functions.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use super::fields::Fields;
use super::{
    ChatRequest, ChatResponse, Decode, Encode, ResponseFormat, WireError, anthropic, bedrock,
    gemini, openai, responses,
};

/// A wire format: how requests, answers, streams and errors are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// OpenAI's API, and the many servers that copy it (vLLM, Ollama, LM Studio).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// Google's Gemini API (`generateContent`).
    Gemini,
    /// OpenAI's Responses API (`/v1/responses`).
    Responses,
    /// Amazon Bedrock's Converse API.
    Bedrock,
    /// Anthropic's Messages API on Vertex AI (the model in the URL).
    AnthropicVertex,
}

impl Format {
    /// The snake_case name (as a provider's `kind` spells it).
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Openai => "openai",
            Format::Anthropic => "anthropic",
            Format::Gemini => "gemini",
            Format::Responses => "responses",
            Format::Bedrock => "bedrock",
            Format::AnthropicVertex => "anthropic_vertex",
        }
    }
}

impl Format {
    /// The format its answers and streams are written in: Anthropic on
    /// Vertex AI answers as Anthropic does, so an Anthropic client's answer
    /// from it passes through.
    pub const fn answer_format(self) -> Format {
        match self {
            Format::AnthropicVertex => Format::Anthropic,
            other => other,
        }
    }
}

/// Why a target of `format` serving `model` cannot take `request` as asked,
/// if it cannot. A structured answer dropped would be free text to a client
/// that parses JSON, so: Anthropic's API takes a JSON schema from Claude 4.5
/// on (`output_config.format`) and no JSON without a schema; Claude on
/// Vertex AI none (its structured outputs are off by the platform's default
/// policy); Bedrock's rules differ by model family ([`bedrock::cannot_take`]).
pub fn cannot_take(format: Format, model: &str, request: &ChatRequest) -> Option<String> {
    if format == Format::Bedrock {
        return bedrock::cannot_take(request, model);
    }
    match (format, request.response_format.as_ref()?) {
        (Format::Anthropic, ResponseFormat::JsonSchema { .. })
            if anthropic::models::takes_json_schema(model) =>
        {
            None
        }
        (Format::Anthropic, ResponseFormat::JsonSchema { .. }) => Some(format!(
            "{model} takes no JSON schema for its answer (Claude 4.5 and later do)"
        )),
        (Format::Anthropic | Format::AnthropicVertex, _) => Some(format!(
            "this JSON response format has no counterpart in the {format} format"
        )),
        _ => None,
    }
}

/// Whether the format's API continues a trailing assistant message — the
/// model's own turn, begun for it — natively for `model` ("prefill"):
/// Anthropic's Messages API does (on Vertex AI too), and Bedrock's Converse
/// for Claude models. OpenAI's chat API and Gemini answer such a request
/// with a turn of their own.
pub fn prefills(format: Format, model: &str) -> bool {
    match format {
        Format::Anthropic | Format::AnthropicVertex => true,
        Format::Bedrock => bedrock::prefills(model),
        Format::Openai | Format::Gemini | Format::Responses => false,
    }
}

/// A request passed on to a target whose answers the client reads as they
/// come ([`Format::answer_format`]): the client's fields as sent, with the
/// model where the target's format wants it.
pub fn forward_request(format: Format, fields: &Fields, model: &str) -> Vec<u8> {
    match format {
        Format::AnthropicVertex => fields.to_json_with(&[
            ("model", None),
            ("anthropic_version", Some(anthropic::vertex::VERSION)),
        ]),
        _ => fields.to_json_with_model(model),
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The chat path of a format, relative to a provider's base URL (for
/// Gemini, after the model's name: streaming is another method).
pub fn chat_path(format: Format, stream: bool) -> &'static str {
    match format {
        Format::Openai => "/chat/completions",
        Format::Anthropic => "/v1/messages",
        Format::Gemini => gemini::chat_path(stream),
        Format::Responses => "/responses",
        Format::Bedrock => bedrock::chat_path(stream),
        Format::AnthropicVertex => anthropic::vertex::chat_path(stream),
    }
}

/// The path of a format's model list (health probes, which cost no
/// tokens), relative to a provider's base URL; `None` where the API has no
/// such call (Bedrock's runtime).
pub fn models_path(format: Format) -> Option<&'static str> {
    match format {
        Format::Openai | Format::Gemini | Format::Responses => Some("/models"),
        Format::Anthropic => Some("/v1/models"),
        Format::Bedrock | Format::AnthropicVertex => None,
    }
}

/// A retry delay an error body gives where the format puts one there
/// rather than in `Retry-After` (Gemini's `RetryInfo`).
pub fn retry_after(format: Format, body: &[u8]) -> Option<Duration> {
    match format {
        Format::Gemini => gemini::retry_delay(body),
        Format::Openai
        | Format::Anthropic
        | Format::Responses
        | Format::Bedrock
        | Format::AnthropicVertex => None,
    }
}

/// The request fields a translation from `format` carries into another
/// format (for the client formats: OpenAI's chat completions, Anthropic's
/// Messages and OpenAI's Responses API); `None` for a format no client speaks.
pub fn carried_fields(format: Format) -> Option<&'static [&'static str]> {
    match format {
        Format::Openai => Some(openai::CARRIED),
        Format::Anthropic => Some(anthropic::CARRIED),
        Format::Responses => Some(responses::CARRIED),
        Format::Gemini | Format::Bedrock | Format::AnthropicVertex => None,
    }
}

/// Reads a chat request in `format`.
pub fn parse_request(
    format: Format,
    fields: &Map<String, Value>,
) -> Result<ChatRequest, WireError> {
    match format {
        Format::Openai => openai::parse_request(fields),
        Format::Anthropic => anthropic::parse_request(fields),
        Format::Gemini => gemini::parse_request(fields),
        Format::Responses => responses::parse_request(fields),
        Format::Bedrock => bedrock::parse_request(fields),
        Format::AnthropicVertex => anthropic::vertex::parse_request(fields),
    }
}

/// Writes a chat request in `format` for the upstream `model`.
pub fn write_request(format: Format, request: &ChatRequest, model: &str) -> Value {
    match format {
        Format::Openai => openai::write_request(request, model),
        Format::Anthropic => anthropic::write_request(request, model),
        Format::Gemini => gemini::write_request(request, model),
        Format::Responses => responses::write_request(request, model),
        Format::Bedrock => bedrock::write_request(request, model),
        Format::AnthropicVertex => anthropic::vertex::write_request(request, model),
    }
}

/// Reads a whole answer in `format`.
pub fn parse_response(format: Format, body: &Value) -> Result<ChatResponse, WireError> {
    match format {
        Format::Openai => openai::parse_response(body),
        Format::Anthropic | Format::AnthropicVertex => anthropic::parse_response(body),
        Format::Gemini => gemini::parse_response(body),
        Format::Responses => responses::parse_response(body),
        Format::Bedrock => bedrock::parse_response(body),
    }
}

/// Writes a whole answer in `format`.
pub fn write_response(format: Format, response: &ChatResponse) -> Value {
    match format {
        Format::Openai => openai::write_response(response),
        Format::Anthropic | Format::AnthropicVertex => anthropic::write_response(response),
        Format::Gemini => gemini::write_response(response),
        Format::Responses => responses::write_response(response),
        Format::Bedrock => bedrock::write_response(response),
    }
}

/// A reader of streams in `format`.
pub fn decoder(format: Format) -> Box<dyn Decode> {
    match format {
        Format::Openai => Box::new(openai::Decoder::default()),
        Format::Anthropic | Format::AnthropicVertex => Box::new(anthropic::Decoder::default()),
        Format::Gemini => Box::new(gemini::Decoder::default()),
        Format::Responses => Box::new(responses::Decoder::default()),
        Format::Bedrock => Box::new(bedrock::Decoder::default()),
    }
}

/// A writer of streams in `format`; `include_usage` is OpenAI's
/// `stream_options.include_usage` (Anthropic streams always report usage).
pub fn encoder(format: Format, include_usage: bool) -> Box<dyn Encode> {
    match format {
        Format::Openai => Box::new(openai::Encoder::new(include_usage)),
        Format::Anthropic | Format::AnthropicVertex => Box::new(anthropic::Encoder::default()),
        Format::Gemini => Box::new(gemini::Encoder::default()),
        Format::Responses => Box::new(responses::Encoder::default()),
        Format::Bedrock => Box::new(bedrock::Encoder::default()),
    }
}
