//! Answers on their way back: passed through untouched when the client and
//! the target speak the same format, else read in the target's format and
//! written in the client's, whole or event by event.

use bytes::Bytes;
use serde_json::Value;

use crate::counts::Counts;
use crate::format::{self, Format};
use crate::model::ChatResponse;
use crate::replay::Assembler;
use crate::sse::event_data;
use crate::tokens::Tokens;
use crate::{Decode, Encode, StreamError, StreamEvent, WireError};

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
        self.client == self.target.answer_format()
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
            let skim: Skim = serde_json::from_slice(&body).map_err(not_json)?;
            let usage = skim.usage.as_ref().and_then(|counts| match self.target {
                Format::Openai | Format::Responses => Tokens::of(counts),
                Format::Anthropic | Format::AnthropicVertex => counts.anthropic().map(Tokens::from),
                // Gemini and Bedrock count in keys of their own, which the
                // skim does not read (neither is a client format).
                Format::Gemini | Format::Bedrock => None,
            });
            let model = match skim.model {
                Some(Value::String(model)) => model,
                _ => String::new(),
            };
            return Ok(Answered { body, usage, model });
        }
        let value: Value = serde_json::from_slice(&body).map_err(not_json)?;
        let model = value["model"].as_str().unwrap_or_default().to_owned();
        let response = format::parse_response(self.target, &value)?;
        let written = format::write_response(self.client, &response);
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
        StreamTranslator {
            decoder: format::decoder(self.target),
            encoder: format::encoder(self.client, self.include_usage),
            passthrough: self.is_passthrough(),
            skim: self.is_passthrough() && self.target == Format::Openai,
            usage: None,
            events: Vec::new(),
            model: None,
            text: String::new(),
            track_text: None,
            text_dropped: false,
            continuing: false,
            capture: None,
        }
    }
}

/// What the gateway reads of an answer it passes through; every other field
/// is skipped by the parser without being built.
#[derive(serde::Deserialize)]
struct Skim {
    model: Option<Value>,
    usage: Option<Counts>,
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

/// The most answer text kept for a stream's resumption (bytes); a longer
/// answer that breaks ends with an error instead of a continuation.
pub const MAX_TRACKED_TEXT: usize = 1024 * 1024;

/// Adds `more` to the `kept` text of a resumption while it stays within
/// [`MAX_TRACKED_TEXT`]; past it, lets the text go and marks it `dropped`.
fn keep_text(kept: &mut String, dropped: &mut bool, more: &str) {
    if *dropped {
        return;
    }
    if kept.len() + more.len() > MAX_TRACKED_TEXT {
        *dropped = true;
        *kept = String::new();
    } else {
        kept.push_str(more);
    }
}

/// Turns upstream events into client events, watching for the end, errors
/// and usage on the way.
pub struct StreamTranslator {
    decoder: Box<dyn Decode>,
    encoder: Box<dyn Encode>,
    passthrough: bool,
    /// OpenAI passed through: decode only events that may carry an error,
    /// usage or the end, and relay the rest unread.
    skim: bool,
    usage: Option<Tokens>,
    events: Vec<StreamEvent>,
    /// The model the stream's first event names.
    model: Option<String>,
    /// The answer text decoded so far (complete when text is tracked).
    text: String,
    /// Whether the relay tracks the answer's text (for stream resumption);
    /// `None` until relaying starts: everything is decoded until then.
    track_text: Option<bool>,
    /// The text outgrew [`MAX_TRACKED_TEXT`]: it is no longer kept, and the
    /// stream cannot be resumed.
    text_dropped: bool,
    /// The stream continues a broken one: events before its first content
    /// (the opening role-only chunk) are dropped.
    continuing: bool,
    /// The whole answer being put together (for a cache), if asked for.
    capture: Option<Assembler>,
}

impl StreamTranslator {
    /// Feeds one upstream event, appending the client's events to `out`. An
    /// upstream error event is never relayed: it becomes an `Err`.
    pub fn feed(&mut self, event: Bytes, out: &mut Vec<Bytes>) -> Result<Progress, StreamError> {
        let Some(data) = event_data(&event) else {
            if self.passthrough {
                out.push(event);
            }
            return Ok(Progress::Framing);
        };
        if self.skim
            && self.track_text == Some(false)
            && self.capture.is_none()
            && !["\"error\"", "\"usage\"", "[DONE]"]
                .iter()
                .any(|mark| data.contains(mark))
        {
            out.push(event);
            return Ok(Progress::Content);
        }
        self.events.clear();
        self.decoder.decode(&data, &mut self.events)?;
        // Skimming while relaying, an event is content by definition; before
        // (waiting for the first piece of the answer) it is judged by what it
        // holds, so a role-only first chunk commits the client to nothing.
        let mut progress = if self.skim && self.track_text.is_some() {
            Progress::Content
        } else {
            Progress::Framing
        };
        let before = out.len();
        for item in &self.events {
            if let Some(capture) = &mut self.capture {
                capture.push(item);
            }
            match item {
                StreamEvent::Start { model, .. } => {
                    self.model.get_or_insert_with(|| model.clone());
                }
                StreamEvent::Text(text) if self.track_text != Some(false) => {
                    keep_text(&mut self.text, &mut self.text_dropped, text);
                }
                StreamEvent::Usage(usage) => self.usage = Some(Tokens::from(*usage)),
                _ => {}
            }
            if *item == StreamEvent::End {
                progress = Progress::Done;
            } else if item.is_content() {
                progress = progress.max(Progress::Content);
            }
            if !self.passthrough {
                self.encoder.encode(item, out);
            }
        }
        if self.passthrough {
            out.push(event);
        }
        if self.continuing {
            if !self.events.iter().any(StreamEvent::is_content) {
                out.truncate(before);
            } else {
                self.continuing = false;
            }
        }
        Ok(progress)
    }

    /// Whether the whole text relayed so far is kept, so another target can
    /// carry on from it.
    pub fn resumable(&self) -> bool {
        !self.text_dropped
    }

    /// The client event that ends a broken stream.
    pub fn error(&mut self, message: &str) -> Bytes {
        self.encoder.error(message)
    }

    /// The tokens reported so far.
    pub fn usage(&self) -> Option<Tokens> {
        self.usage
    }

    /// The model the stream's first event named, if any.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The answer text relayed so far, while it is tracked (see [`resumable`](Self::resumable)).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Starts relaying: from now on, OpenAI passed through is skimmed unless
    /// the text must be tracked (for stream resumption).
    pub fn relaying(&mut self, track_text: bool) {
        self.track_text = Some(track_text);
    }

    /// Puts the whole answer together as it passes (decoding every event),
    /// giving up past `limit` bytes; see [`StreamTranslator::captured`].
    pub fn capture(&mut self, limit: usize) {
        self.capture = Some(Assembler::new(limit));
    }

    /// The whole answer put together, once the stream has ended within the
    /// bound of [`StreamTranslator::capture`].
    pub fn captured(&mut self) -> Option<ChatResponse> {
        self.capture.take().and_then(Assembler::finish)
    }

    /// Marks the stream as the continuation of a broken one.
    pub fn continuing(&mut self) {
        self.continuing = true;
    }

    /// Carries on from a broken stream's text.
    pub fn carry_text(&mut self, text: String) {
        self.text = text;
    }
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
    fn an_anthropic_answer_counts_cached_input_tokens() {
        let body = Bytes::from_static(
            br#"{"model":"claude","usage":{"input_tokens":2,"cache_read_input_tokens":10,"output_tokens":7}}"#,
        );
        let answered = passthrough(Format::Anthropic).read(body).unwrap();
        assert_eq!(answered.usage.map(|u| (u.input, u.output)), Some((12, 7)));
    }

    #[test]
    fn missing_or_odd_fields_read_as_unknown_and_bad_json_fails() {
        let answered = passthrough(Format::Openai)
            .read(Bytes::from_static(br#"{"model":7,"usage":null}"#))
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
