//! Anthropic's Messages API to and from the canonical model, also as Vertex
//! AI serves it ([`vertex`]).

mod error;
pub mod models;
mod request;
mod response;
mod stream;
pub mod vertex;

pub use error::{error_body, error_type, stream_error};
pub use request::{CARRIED, DEFAULT_MAX_TOKENS, parse_request, write_request};
pub use response::{parse_response, usage_of, write_response};
pub use stream::{Decoder, Encoder};
