//! Wire formats: one canonical chat model ([`model`]) and, per provider API, a
//! converter to and from it. A request in any format reaches a target of any
//! format through the canonical model (never a converter per pair); a request
//! whose client and target speak the same format is not converted at all.
//!
//! | module | what |
//! |---|---|
//! | [`format`](mod@format) | the formats ([`Format`]) and dispatch on them |
//! | [`model`] | the canonical chat request, answer and stream events |
//! | [`openai`], [`anthropic`], [`gemini`], [`bedrock`], [`responses`] | each format to and from the canonical model |
//! | [`translate`] | an answer on its way back: passed through or converted, whole or event by event |
//! | [`replay`] | answers the gateway has at hand (cached, static), stored and written whole or as a stream |
//! | [`fields`] | a client request's top-level fields, kept as sent |
//! | [`counts`], [`tokens`] | token counts of `usage` objects, read leniently |
//! | [`sse`], [`framing`] | server-sent events split from a byte stream; a format's stream framing (SSE or AWS event-stream) |
//! | [`splice`] | a continuation of a broken stream checked against the text already sent |
//! | [`sanitise`] | upstream text made safe to show |
//! | [`clock`] | wall-clock timestamps |
//!
//! This crate knows no HTTP client, runtime or config: it is the leaf the
//! proxy and the simulated providers build on.

pub mod anthropic;
pub mod bedrock;
pub mod clock;
pub mod codec;
pub mod counts;
pub mod fields;
pub mod format;
pub mod framing;
pub mod gemini;
pub mod model;
pub mod openai;
pub mod replay;
pub mod responses;
pub mod sanitise;
pub mod splice;
pub mod sse;
mod stream;
pub mod tokens;
pub mod translate;

pub use format::Format;
pub use model::{
    ChatRequest, ChatResponse, FinishReason, Image, Message, Part, ResponseFormat, Role,
    StreamEvent, Tool, ToolCall, ToolChoice, Usage,
};
pub use stream::{Decode, DecodeError, Encode, Resumption, StreamError};

/// A body that does not fit the format it claims to be in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WireError(pub String);

impl WireError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> WireError {
        WireError(message.into())
    }
}
