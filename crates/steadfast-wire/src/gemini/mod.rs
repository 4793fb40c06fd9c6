//! Google's Gemini API (`generateContent`, `streamGenerateContent?alt=sse`)
//! to and from the canonical model: a system instruction, turns of `user`
//! and `model` parts (text, inline data, function calls and their
//! responses), function declarations, generation settings, usage metadata,
//! finish reasons, and a prompt blocked for safety as an answer that says so.

mod request;
mod response;
mod stream;

use std::time::Duration;

use serde_json::Value;

pub use request::{parse_request, write_request};
pub use response::{parse_response, write_response};
pub use stream::{Decoder, Encoder};

/// The path of a chat call, after `models/{model}`.
pub fn chat_path(stream: bool) -> &'static str {
    if stream {
        ":streamGenerateContent?alt=sse"
    } else {
        ":generateContent"
    }
}

/// The retry delay an error body gives (`RESOURCE_EXHAUSTED` answers carry
/// a `google.rpc.RetryInfo` detail with a `retryDelay` such as `"30s"`).
pub fn retry_delay(body: &[u8]) -> Option<Duration> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value["error"]["details"]
        .as_array()?
        .iter()
        .filter(|detail| {
            detail["@type"]
                .as_str()
                .is_some_and(|kind| kind.ends_with("google.rpc.RetryInfo"))
        })
        .find_map(|detail| {
            let delay = detail["retryDelay"].as_str()?.strip_suffix('s')?;
            delay
                .parse::<f64>()
                .ok()
                .filter(|secs| secs.is_finite() && *secs >= 0.0)
                .map(Duration::from_secs_f64)
        })
}

/// An error body in Gemini's shape.
pub fn error_body(code: u16, status: &str, message: &str) -> Value {
    serde_json::json!({"error": {"code": code, "message": message, "status": status}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_info_gives_the_delay() {
        let body = br#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"31s"}]}}"#;
        assert_eq!(retry_delay(body), Some(Duration::from_secs(31)));
        assert_eq!(retry_delay(b"{}"), None);
        assert_eq!(chat_path(true), ":streamGenerateContent?alt=sse");
    }
}

/// Google's Gemini API as a [`Codec`](crate::codec::Codec).
#[derive(Debug)]
pub struct GeminiCodec;

impl crate::codec::Codec for GeminiCodec {
    crate::codec::module_converters!();

    fn encoder(&self, _include_usage: bool) -> Box<dyn crate::Encode> {
        Box::new(Encoder::default())
    }

    fn chat_path(&self, stream: bool) -> &'static str {
        chat_path(stream)
    }

    fn retry_after(&self, body: &[u8]) -> Option<std::time::Duration> {
        retry_delay(body)
    }
}
