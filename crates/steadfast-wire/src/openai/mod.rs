//! OpenAI's chat completions format to and from the canonical model, and
//! the merged answer of a quorum route ([`quorum`]).

pub mod quorum;
mod request;
mod response;
mod stream;

pub use request::{CARRIED, parse_request, write_request};
pub use response::{parse_response, usage_of, write_response};
pub use stream::{Decoder, Encoder, error_event};

/// OpenAI's chat completions as a [`Codec`](crate::codec::Codec).
#[derive(Debug)]
pub struct OpenaiCodec;

impl crate::codec::Codec for OpenaiCodec {
    crate::codec::module_converters!();

    fn encoder(&self, include_usage: bool) -> Box<dyn crate::Encode> {
        Box::new(Encoder::new(include_usage))
    }

    fn chat_path(&self, _stream: bool) -> &'static str {
        "/chat/completions"
    }

    fn carried_fields(&self) -> Option<&'static [&'static str]> {
        Some(CARRIED)
    }

    fn skimmed_usage(&self, counts: &crate::counts::Counts) -> Option<crate::tokens::Tokens> {
        crate::tokens::Tokens::of(counts)
    }
}
