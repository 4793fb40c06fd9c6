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

/// The path of a chat call, after `model/{modelId}`.
pub fn chat_path(stream: bool) -> &'static str {
    if stream {
        "/converse-stream"
    } else {
        "/converse"
    }
}
