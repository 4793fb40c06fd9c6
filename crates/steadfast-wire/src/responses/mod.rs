//! OpenAI's Responses API (`POST /v1/responses`) to and from the canonical
//! model: `instructions` and `input` (a string, or items: messages,
//! `function_call` and `function_call_output`), function tools, and the
//! answer as `output` items — whole, or as the API's typed event stream
//! (`response.created`, `response.output_text.delta`, …, `response.completed`).
//! Conversations are not stored: `previous_response_id` is refused by the
//! gateway, so a client sends its whole conversation in `input`.

mod request;
mod response;
mod stream;

pub use request::{CARRIED, parse_request, write_request};
pub use response::{parse_response, write_response};
pub use stream::{Decoder, Encoder};

/// The response id of an answer whose upstream id is `id`.
fn response_id(id: &str) -> String {
    if id.starts_with("resp_") {
        id.to_owned()
    } else {
        format!("resp_{}", id.trim_start_matches("chatcmpl-"))
    }
}

/// OpenAI's Responses API as a [`Codec`](crate::codec::Codec).
#[derive(Debug)]
pub struct ResponsesCodec;

impl crate::codec::Codec for ResponsesCodec {
    crate::codec::module_converters!();

    fn encoder(&self, _include_usage: bool) -> Box<dyn crate::Encode> {
        Box::new(Encoder::default())
    }

    fn chat_path(&self, _stream: bool) -> &'static str {
        "/responses"
    }

    fn carried_fields(&self) -> Option<&'static [&'static str]> {
        Some(CARRIED)
    }

    fn skimmed_usage(&self, counts: &crate::counts::Counts) -> Option<crate::tokens::Tokens> {
        crate::tokens::Tokens::of(counts)
    }
}
