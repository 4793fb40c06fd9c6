//! Amazon Bedrock's Converse API (`POST /model/{modelId}/converse`,
//! `…/converse-stream`) to and from the canonical model: `system` blocks,
//! `messages` of content blocks (text, images, `toolUse`, `toolResult`),
//! `inferenceConfig`, `toolConfig`, usage and stop reasons; streams in AWS's
//! binary event-stream framing ([`frame`]), their exceptions
//! (`throttlingException`, `serviceUnavailableException`, …) as failures.

mod family;
pub mod frame;
mod request;
mod response;
mod stream;

pub use family::Family;
pub use request::{cannot_take, parse_request, write_request};
pub use response::{parse_response, write_response};
pub use stream::{Decoder, Encoder};

/// Whether `model` continues a trailing assistant message natively through
/// Converse (by its family: Claude models do).
pub fn prefills(model: &str) -> bool {
    Family::of(model).prefills
}

/// The path of a chat call, after `model/{modelId}`.
pub fn chat_path(stream: bool) -> &'static str {
    if stream {
        "/converse-stream"
    } else {
        "/converse"
    }
}

/// Bedrock's Converse API as a [`Codec`](crate::codec::Codec): its streams
/// in AWS's event-stream framing.
#[derive(Debug)]
pub struct BedrockCodec;

impl crate::codec::Codec for BedrockCodec {
    crate::codec::module_converters!();

    fn encoder(&self, _include_usage: bool) -> Box<dyn crate::Encode> {
        Box::new(Encoder::default())
    }

    fn framing(&self) -> crate::codec::FramingKind {
        crate::codec::FramingKind::EventStream
    }

    fn chat_path(&self, stream: bool) -> &'static str {
        chat_path(stream)
    }

    /// Bedrock's rules differ by model family ([`cannot_take`]).
    fn cannot_take(&self, model: &str, request: &crate::ChatRequest) -> Option<String> {
        cannot_take(request, model)
    }

    fn prefills(&self, model: &str) -> bool {
        prefills(model)
    }
}
