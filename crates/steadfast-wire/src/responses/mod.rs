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
