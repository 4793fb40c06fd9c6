//! Anthropic's Messages API as Vertex AI serves it
//! (`…/publishers/anthropic/models/{model}:rawPredict`, `:streamRawPredict`):
//! the model in the URL rather than the body, and `anthropic_version`
//! naming Vertex's version. Answers and streams are Anthropic's own.

use serde_json::{Map, Value};

use super::{Decoder, parse_response, write_response};
use crate::codec::Codec;
use crate::counts::Counts;
use crate::fields::Fields;
use crate::tokens::Tokens;
use crate::{ChatRequest, Encode, WireError};

/// The `anthropic_version` Vertex AI takes.
pub const VERSION: &str = "vertex-2023-10-16";

/// The path of a chat call, after `models/{model}`.
pub fn chat_path(stream: bool) -> &'static str {
    if stream {
        ":streamRawPredict"
    } else {
        ":rawPredict"
    }
}

/// Writes `request` for Anthropic on Vertex AI.
pub fn write_request(request: &ChatRequest, model: &str) -> Value {
    let mut body = super::write_request(request, model);
    if let Some(object) = body.as_object_mut() {
        object.remove("model");
        // Vertex AI turns structured outputs off unless the organisation's
        // policy allows them (`constraints/vertexai.allowedPartnerModelFeatures`):
        // a request asking for one is not sent here (`VertexCodec::cannot_take`).
        object.remove("output_config");
        object.insert("anthropic_version".into(), VERSION.into());
    }
    body
}

/// Reads a request written for Anthropic on Vertex AI.
pub fn parse_request(fields: &Map<String, Value>) -> Result<ChatRequest, WireError> {
    super::parse_request(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Message, Part, Role};

    #[test]
    fn the_model_leaves_the_body_and_the_version_is_vertexs() {
        let request = ChatRequest {
            messages: vec![Message::new(Role::User, vec![Part::Text("hi".into())])],
            max_tokens: Some(10),
            ..ChatRequest::default()
        };
        let body = write_request(&request, "claude-3-5-sonnet@20240620");
        assert!(body.get("model").is_none(), "{body}");
        assert_eq!(body["anthropic_version"], VERSION);
        assert_eq!(body["max_tokens"], 10);
        assert_eq!(chat_path(true), ":streamRawPredict");
    }
}

/// Anthropic's Messages API on Vertex AI as a [`Codec`]: Anthropic's answers
/// and streams, the request with the model in the URL.
#[derive(Debug)]
pub struct VertexCodec;

impl Codec for VertexCodec {
    crate::codec::module_converters!();

    fn encoder(&self, _include_usage: bool) -> Box<dyn Encode> {
        Box::new(super::Encoder::default())
    }

    fn chat_path(&self, stream: bool) -> &'static str {
        chat_path(stream)
    }

    /// No JSON answer: Claude's structured outputs are off on Vertex AI by
    /// the platform's default policy.
    fn cannot_take(&self, _model: &str, request: &ChatRequest) -> Option<String> {
        request.response_format.as_ref()?;
        Some(super::no_json_counterpart("anthropic_vertex"))
    }

    fn prefills(&self, _model: &str) -> bool {
        true
    }

    fn forward_request(&self, fields: &Fields, _model: &str) -> Vec<u8> {
        fields.to_json_with(&[("model", None), ("anthropic_version", Some(VERSION))])
    }

    fn skimmed_usage(&self, counts: &Counts) -> Option<Tokens> {
        counts.anthropic().map(Tokens::from)
    }
}
