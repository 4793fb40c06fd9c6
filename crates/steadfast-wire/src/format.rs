//! The wire formats ([`Format`]); what each reads and writes is its
//! [`Codec`](crate::codec::Codec) ([`Format::codec`]).

use std::fmt;

/// A wire format: how requests, answers, streams and errors are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// OpenAI's API, and the many servers that copy it (vLLM, Ollama, LM Studio).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// Google's Gemini API (`generateContent`).
    Gemini,
    /// OpenAI's Responses API (`/v1/responses`).
    Responses,
    /// Amazon Bedrock's Converse API.
    Bedrock,
}

impl Format {
    /// The snake_case name (as a provider's `kind` spells it).
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Openai => "openai",
            Format::Anthropic => "anthropic",
            Format::Gemini => "gemini",
            Format::Responses => "responses",
            Format::Bedrock => "bedrock",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Format {
    /// The format's [`Codec`](crate::codec::Codec).
    pub fn codec(self) -> &'static dyn crate::codec::Codec {
        match self {
            Format::Openai => &crate::openai::OpenaiCodec,
            Format::Anthropic => &crate::anthropic::AnthropicCodec,
            Format::Gemini => &crate::gemini::GeminiCodec,
            Format::Responses => &crate::responses::ResponsesCodec,
            Format::Bedrock => &crate::bedrock::BedrockCodec,
        }
    }
}
