//! What a wire format reads and writes, behind one trait: each format's
//! module implements [`Codec`], and [`Format::codec`](crate::Format::codec)
//! names the one of a format. A new format is a module implementing it, a
//! variant of [`Format`](crate::Format) and one line there.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::counts::Counts;
use crate::tokens::Tokens;
use crate::{ChatRequest, ChatResponse, Decode, Encode, WireError};

/// The five converters of [`Codec`] for a format module with its own
/// `parse_request`, `write_request`, `parse_response`, `write_response` and
/// `Decoder`.
macro_rules! module_converters {
    () => {
        fn parse_request(
            &self,
            fields: &serde_json::Map<String, serde_json::Value>,
        ) -> Result<$crate::ChatRequest, $crate::WireError> {
            parse_request(fields)
        }

        fn write_request(&self, request: &$crate::ChatRequest, model: &str) -> serde_json::Value {
            write_request(request, model)
        }

        fn parse_response(
            &self,
            body: &serde_json::Value,
        ) -> Result<$crate::ChatResponse, $crate::WireError> {
            parse_response(body)
        }

        fn write_response(&self, response: &$crate::ChatResponse) -> serde_json::Value {
            write_response(response)
        }

        fn decoder(&self) -> Box<dyn $crate::Decode> {
            Box::new(Decoder::default())
        }
    };
}
pub(crate) use module_converters;

/// How a format's streams are split into events
/// ([`Framing::of`](crate::framing::Framing::of) splits them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramingKind {
    /// Server-sent events.
    Sse,
    /// AWS event-stream frames (Bedrock).
    EventStream,
}

/// A wire format's converters and quirks.
pub trait Codec: Sync {
    /// Reads a chat request.
    fn parse_request(&self, fields: &Map<String, Value>) -> Result<ChatRequest, WireError>;

    /// Writes a chat request for the upstream `model`.
    fn write_request(&self, request: &ChatRequest, model: &str) -> Value;

    /// Reads a whole answer.
    fn parse_response(&self, body: &Value) -> Result<ChatResponse, WireError>;

    /// Writes a whole answer.
    fn write_response(&self, response: &ChatResponse) -> Value;

    /// A reader of its streams.
    fn decoder(&self) -> Box<dyn Decode>;

    /// A writer of its streams; `include_usage` is OpenAI's
    /// `stream_options.include_usage` (the other formats always report usage).
    fn encoder(&self, include_usage: bool) -> Box<dyn Encode>;

    /// How its streams are split into events: server-sent events by default.
    fn framing(&self) -> FramingKind {
        FramingKind::Sse
    }

    /// The chat path, relative to a provider's base URL (for Gemini, after
    /// the model's name: streaming is another method).
    fn chat_path(&self, stream: bool) -> &'static str;

    /// Why a target serving `model` cannot take `request` as asked, if it
    /// cannot (a structured answer dropped would be free text to a client
    /// that parses JSON). Default: it can.
    fn cannot_take(&self, model: &str, request: &ChatRequest) -> Option<String> {
        let _ = (model, request);
        None
    }

    /// Whether the API continues a trailing assistant message — the model's
    /// own turn, begun for it — natively for `model` ("prefill"). Default: no
    /// (the model answers such a request with a turn of its own).
    fn prefills(&self, model: &str) -> bool {
        let _ = model;
        false
    }

    /// A retry delay an error body gives where the format puts one there
    /// rather than in `Retry-After` (Gemini's `RetryInfo`). Default: none.
    fn retry_after(&self, body: &[u8]) -> Option<Duration> {
        let _ = body;
        None
    }

    /// The request fields a translation from this format carries into
    /// another, for a format clients speak; `None` for one no client speaks.
    fn carried_fields(&self) -> Option<&'static [&'static str]> {
        None
    }

    /// The usage of an answer passed through, from the counts a skim of it
    /// read; `None` where the format counts in keys of its own.
    fn skimmed_usage(&self, counts: &Counts) -> Option<Tokens> {
        let _ = counts;
        None
    }
}
