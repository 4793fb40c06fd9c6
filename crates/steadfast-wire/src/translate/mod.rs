//! Answers on their way back: passed through untouched when the client and
//! the target speak the same format, else read in the target's format and
//! written in the client's, whole or event by event ([`StreamTranslator`]).

mod hold;
mod skim;
mod stream;
mod taps;

pub use stream::{MAX_MALFORMED_EVENTS, StreamTranslator};
pub use taps::MAX_TRACKED_TEXT;

use bytes::Bytes;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::WireError;
use crate::counts::Counts;
use crate::fields::{MAX_DEPTH, nested_within};
use crate::format::Format;
use crate::tokens::Tokens;

/// The formats of one attempt: the client's and the target's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// What the client speaks.
    pub client: Format,
    /// What the target speaks.
    pub target: Format,
    /// Whether an OpenAI client asked for usage in its stream.
    pub include_usage: bool,
}

impl Translation {
    /// Whether the answer passes through untouched: the target answers in
    /// the client's format.
    pub fn is_passthrough(self) -> bool {
        self.client == self.target
    }

    /// A whole answer for the client and the tokens it used.
    pub fn answer(self, body: Bytes) -> Result<(Bytes, Option<u64>), WireError> {
        let answered = self.read(body)?;
        Ok((answered.body, answered.usage.map(|usage| usage.total)))
    }

    /// A whole answer for the client, with the tokens it used and the model
    /// the upstream says answered.
    pub fn read(self, body: Bytes) -> Result<Answered, WireError> {
        let not_json = |_| WireError::new("the answer is not JSON");
        if self.is_passthrough() {
            if !nested_within(&body, MAX_DEPTH) {
                return Err(WireError::new(format!(
                    "the answer is nested deeper than {MAX_DEPTH} levels"
                )));
            }
            let skim: Skim = serde_json::from_slice(&body).map_err(not_json)?;
            if !skim.is_answer() {
                return Err(WireError::new(
                    "the answer holds no answer (an error, or none of choices, data, content or output)",
                ));
            }
            // (Gemini and Bedrock count in keys of their own, which the
            // skim does not read: neither is a client format.)
            let usage =
                (skim.usage.as_ref()).and_then(|counts| self.target.codec().skimmed_usage(counts));
            let model = match skim.model {
                Some(Value::String(model)) => model,
                _ => String::new(),
            };
            return Ok(Answered { body, usage, model });
        }
        let value: Value = serde_json::from_slice(&body).map_err(not_json)?;
        let model = value["model"].as_str().unwrap_or_default().to_owned();
        let response = self.target.codec().parse_response(&value)?;
        let written = self.client.codec().write_response(&response);
        let bytes =
            serde_json::to_vec(&written).map_err(|error| WireError::new(error.to_string()))?;
        Ok(Answered {
            body: Bytes::from(bytes),
            usage: Some(Tokens::from(response.usage)),
            model,
        })
    }

    /// The translator of a streamed answer.
    pub fn stream(self) -> StreamTranslator {
        let passthrough = self.is_passthrough();
        // An OpenAI stream tells its usage only when asked: a client's own
        // request passed on asks if the client did; a translated one always.
        let usage_expected = self.target != Format::Openai || !passthrough || self.include_usage;
        StreamTranslator::new(
            self.target.codec().decoder(),
            self.client.codec().encoder(self.include_usage),
            passthrough,
            passthrough && self.target == Format::Openai,
            usage_expected,
        )
    }
}

/// What the gateway reads of an answer it passes through; every other field
/// is skipped by the parser without being built (but the whole body must
/// parse: depth and syntax are checked).
#[derive(serde::Deserialize)]
struct Skim {
    model: Option<Value>,
    usage: Option<Counts>,
    error: Option<IgnoredAny>,
    /// The answer itself: a chat or legacy completion's `choices`, an
    /// embedding's `data`, a message's `content`, a response's `output`.
    choices: Option<IgnoredAny>,
    data: Option<IgnoredAny>,
    content: Option<IgnoredAny>,
    output: Option<IgnoredAny>,
}

impl Skim {
    /// Whether the body is an answer: no error in it, and the part that
    /// holds an answer in one of the formats passed through.
    fn is_answer(&self) -> bool {
        self.error.is_none()
            && (self.choices.is_some()
                || self.data.is_some()
                || self.content.is_some()
                || self.output.is_some())
    }
}

/// A whole answer, read.
#[derive(Debug)]
pub struct Answered {
    /// The answer in the client's format.
    pub body: Bytes,
    /// The tokens it used, if reported.
    pub usage: Option<Tokens>,
    /// The model the upstream says answered (empty if it does not say).
    pub model: String,
}

/// How far a streamed answer has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Progress {
    /// Only framing so far (a start event, pings).
    Framing,
    /// Some of the answer itself: the client can be committed to it.
    Content,
    /// The whole answer.
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passthrough(format: Format) -> Translation {
        Translation {
            client: format,
            target: format,
            include_usage: false,
        }
    }

    #[test]
    fn a_passed_through_answer_is_kept_byte_for_byte_with_its_usage_and_model_read() {
        let body = Bytes::from_static(
            br#"{"id":"x","model":"gpt-4o-2024-08-06","choices":[{"message":{"content":"hi \u00e9"}}],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8},"x":[1,{"y":null}]}"#,
        );
        let answered = passthrough(Format::Openai).read(body.clone()).unwrap();
        assert_eq!(answered.body, body);
        assert_eq!(answered.model, "gpt-4o-2024-08-06");
        assert_eq!(
            answered.usage,
            Some(Tokens {
                input: 3,
                output: 5,
                total: 8
            })
        );
    }

    #[test]
    fn a_body_passed_through_must_hold_an_answer() {
        for not_an_answer in [
            &br#"{"error":{"message":"overloaded"}}"#[..],
            br#"{"x":[1,2,3]}"#,
            br#"{"choices":[{"message":{"content":"hi"}}],"error":{"message":"partial"}}"#,
        ] {
            let error = passthrough(Format::Openai)
                .read(Bytes::copy_from_slice(not_an_answer))
                .unwrap_err();
            assert!(error.0.contains("no answer"), "{}", error.0);
        }
        let nested = format!("{{\"choices\":{}{}}}", "[".repeat(200), "]".repeat(200));
        let error = passthrough(Format::Openai)
            .read(Bytes::from(nested))
            .unwrap_err();
        assert!(error.0.contains("nested deeper than 128"), "{}", error.0);
        let in_text = format!(
            r#"{{"choices":[{{"message":{{"content":"{}"}}}}]}}"#,
            "[{".repeat(200)
        );
        assert!(
            passthrough(Format::Openai)
                .read(Bytes::from(in_text))
                .is_ok(),
            "brackets inside strings are text"
        );
        for answer in [
            &br#"{"choices":[],"error":null}"#[..],
            br#"{"object":"list","data":[{"embedding":[0.1]}]}"#,
        ] {
            assert!(
                passthrough(Format::Openai)
                    .read(Bytes::copy_from_slice(answer))
                    .is_ok()
            );
        }
        let message = br#"{"type":"message","content":[{"type":"text","text":"hi"}]}"#;
        assert!(
            passthrough(Format::Anthropic)
                .read(Bytes::from_static(message))
                .is_ok()
        );
    }

    #[test]
    fn an_anthropic_answer_counts_cached_input_tokens() {
        let body = Bytes::from_static(
            br#"{"model":"claude","content":[],"usage":{"input_tokens":2,"cache_read_input_tokens":10,"output_tokens":7}}"#,
        );
        let answered = passthrough(Format::Anthropic).read(body).unwrap();
        assert_eq!(answered.usage.map(|u| (u.input, u.output)), Some((12, 7)));
    }

    #[test]
    fn missing_or_odd_fields_read_as_unknown_and_bad_json_fails() {
        let answered = passthrough(Format::Openai)
            .read(Bytes::from_static(
                br#"{"model":7,"usage":null,"choices":[]}"#,
            ))
            .unwrap();
        assert_eq!((answered.model.as_str(), answered.usage), ("", None));
        let error = passthrough(Format::Openai)
            .read(Bytes::from_static(b"{\"model\":"))
            .unwrap_err();
        assert_eq!(error.0, "the answer is not JSON");
    }

    #[test]
    fn the_text_kept_for_a_resumption_is_bounded() {
        let translation = Translation {
            client: Format::Openai,
            target: Format::Anthropic,
            include_usage: false,
        };
        let mut translator = translation.stream();
        translator.relaying(true);
        let piece = "x".repeat(64 * 1024);
        let delta = serde_json::json!({
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": piece},
        });
        let event = Bytes::from(format!("event: content_block_delta\ndata: {delta}\n\n"));
        let mut out = Vec::new();
        for _ in 0..(MAX_TRACKED_TEXT / piece.len()) {
            translator.feed(event.clone(), &mut out).unwrap();
        }
        assert!(translator.resumable());
        assert_eq!(translator.text().len(), MAX_TRACKED_TEXT);
        translator.feed(event, &mut out).unwrap();
        assert!(!translator.resumable(), "past the bound, no resumption");
        assert!(translator.text().is_empty(), "the text is let go");
        assert_eq!(
            out.len(),
            MAX_TRACKED_TEXT / piece.len() + 1,
            "every event relayed"
        );
    }
}
