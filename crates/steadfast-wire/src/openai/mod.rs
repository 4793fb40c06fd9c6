//! OpenAI's chat completions format to and from the canonical model, and
//! the merged answer of a quorum route ([`quorum`]).

pub mod quorum;
mod request;
mod response;
mod stream;

pub use request::{CARRIED, parse_request, write_request};
pub use response::{parse_response, usage_of, write_response};
pub use stream::{Decoder, Encoder, error_event};
