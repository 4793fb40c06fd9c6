//! Wire formats: one canonical chat model ([`model`]) and, per provider API, a
//! converter to and from it. A request in any format reaches a target of any
//! format through the canonical model (never a converter per pair); a request
//! whose client and target speak the same format is not converted at all.

pub mod anthropic;
pub mod counts;
pub mod fields;
pub mod format;
pub mod model;
pub mod openai;
mod stream;

pub use model::{
    ChatRequest, ChatResponse, FinishReason, Image, Message, Part, Role, StreamEvent, Tool,
    ToolCall, ToolChoice, Usage,
};
pub use stream::{Decode, Encode, StreamError};

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

/// Seconds since the Unix epoch, for the `created` field of OpenAI answers.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}
