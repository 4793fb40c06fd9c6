//! Anthropic's Messages API to and from the canonical model (Vertex AI
//! serves Claude in it too, at its own addresses: the gateway's Vertex
//! provider module places the model and the API version).

mod error;
pub mod models;
mod request;
mod response;
mod stream;

pub use error::{error_body, error_type, stream_error};
pub use request::{CARRIED, DEFAULT_MAX_TOKENS, parse_request, write_request};
pub use response::{parse_response, usage_of, write_response};
pub use stream::{Decoder, Encoder};

/// Anthropic's Messages API as a [`Codec`](crate::codec::Codec).
#[derive(Debug)]
pub struct AnthropicCodec;

impl crate::codec::Codec for AnthropicCodec {
    crate::codec::module_converters!();

    fn encoder(&self, _include_usage: bool) -> Box<dyn crate::Encode> {
        Box::new(Encoder::default())
    }

    fn chat_path(&self, _stream: bool) -> &'static str {
        "/v1/messages"
    }

    /// A JSON schema for the answer from Claude 4.5 on
    /// (`output_config.format`); no JSON answer without a schema.
    fn cannot_take(&self, model: &str, request: &crate::ChatRequest) -> Option<String> {
        match request.response_format.as_ref()? {
            crate::ResponseFormat::JsonSchema { .. } if models::takes_json_schema(model) => None,
            crate::ResponseFormat::JsonSchema { .. } => Some(format!(
                "{model} takes no JSON schema for its answer (Claude 4.5 and later do)"
            )),
            _ => {
                Some("this JSON response format has no counterpart in the anthropic format".into())
            }
        }
    }

    fn prefills(&self, _model: &str) -> bool {
        true
    }

    fn carried_fields(&self) -> Option<&'static [&'static str]> {
        Some(CARRIED)
    }

    fn skimmed_usage(&self, counts: &crate::counts::Counts) -> Option<crate::tokens::Tokens> {
        counts.anthropic().map(crate::tokens::Tokens::from)
    }
}
