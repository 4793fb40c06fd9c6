//! Amazon Bedrock's Converse API (`POST /model/{modelId}/converse`,
//! `…/converse-stream`) to and from the canonical model: `system` blocks,
//! `messages` of content blocks (text, images, `toolUse`, `toolResult`),
//! `inferenceConfig`, `toolConfig`, usage and stop reasons; streams in AWS's
//! binary event-stream framing ([`frame`]), their exceptions
//! (`throttlingException`, `serviceUnavailableException`, …) as failures.

pub mod frame;
mod request;
mod response;
mod stream;

pub use request::{parse_request, write_request};
pub use response::{parse_response, write_response};
pub use stream::{Decoder, Encoder};

/// Whether `model` continues a trailing assistant message natively through
/// Converse: Anthropic's Claude models do (their ids, and inference
/// profiles of them, name `anthropic.claude`); for other families the
/// reference documents no such thing.
pub fn prefills(model: &str) -> bool {
    model.contains("anthropic.claude")
}

/// The path of a chat call, after `model/{modelId}`.
pub fn chat_path(stream: bool) -> &'static str {
    if stream {
        "/converse-stream"
    } else {
        "/converse"
    }
}
