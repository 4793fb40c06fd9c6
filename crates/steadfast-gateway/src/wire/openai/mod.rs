//! OpenAI's chat completions format to and from the canonical model.

mod request;
mod response;
mod stream;

pub use request::{parse_request, write_request};
pub use response::{parse_response, usage_of, write_response};
pub use stream::{Decoder, Encoder, error_event};
