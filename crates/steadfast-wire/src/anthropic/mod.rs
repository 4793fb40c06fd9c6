//! Anthropic's Messages API to and from the canonical model.

mod error;
mod request;
mod response;
mod stream;

pub use error::{error_body, error_type, stream_error};
pub use request::{DEFAULT_MAX_TOKENS, parse_request, write_request};
pub use response::{parse_response, usage_of, write_response};
pub use stream::{Decoder, Encoder};
