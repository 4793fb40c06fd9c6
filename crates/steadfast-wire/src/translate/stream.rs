//! A streamed answer on its way back, event by event: passed through when
//! the client speaks the target's format (OpenAI chunks only skimmed, unless
//! a tap wants every event), else decoded and written anew; watched for
//! errors, usage and the end; each event published to the stream's taps
//! (module `taps`: the text relayed, for resumption; the whole answer, for a
//! cache); events that do not parse dropped and counted. A continuation of
//! a broken stream is held back until its text is known to join what the
//! client has (see [`hold`](super::hold)), then adopted into the stream the
//! client is reading.

use bytes::Bytes;
use steadfast::Failure;

use super::Progress;
use super::hold::{Held, Hold};
use super::skim::{Skimmed, skim};
use super::taps::Taps;
use crate::model::ChatResponse;
use crate::splice::Splice;
use crate::sse::event_data;
use crate::tokens::{self, Tokens};
use crate::{Decode, DecodeError, Encode, Resumption, StreamError, StreamEvent, Usage};

/// Events that do not parse a stream may send (each dropped, never
/// relayed) before it is no longer trusted and fails as a broken stream.
pub const MAX_MALFORMED_EVENTS: u32 = 3;

/// Turns upstream events into client events, watching for the end, errors
/// and usage on the way.
pub struct StreamTranslator {
    pub(super) decoder: Box<dyn Decode>,
    pub(super) encoder: Box<dyn Encode>,
    pub(super) passthrough: bool,
    /// OpenAI passed through: text chunks are validated and relayed unread.
    pub(super) skim: bool,
    /// Whether the upstream reports usage in its stream (OpenAI only when
    /// asked to), so an answer is whole only with it.
    pub(super) usage_expected: bool,
    /// The tokens the upstream reported (for this upstream only).
    usage: Option<Tokens>,
    /// Usage of the earlier parts of a resumed stream, added to what the
    /// client is told.
    carried: Usage,
    events: Vec<StreamEvent>,
    /// The id and model the stream's first event named.
    start: Option<(String, String)>,
    /// What watches the events: the text (for resumption), the whole
    /// answer (for a cache).
    taps: Taps,
    /// A finish reason arrived.
    finished: bool,
    /// Events dropped because they do not parse, and those not yet reported.
    malformed: u32,
    unreported_malformed: u32,
    /// Why a held continuation was refused, once it was.
    refused: Option<&'static str>,
    /// A continuation being judged, if this stream is one.
    hold: Option<Hold>,
}

impl StreamTranslator {
    pub(super) fn new(
        decoder: Box<dyn Decode>,
        encoder: Box<dyn Encode>,
        passthrough: bool,
        skim: bool,
        usage_expected: bool,
    ) -> StreamTranslator {
        StreamTranslator {
            decoder,
            encoder,
            passthrough,
            skim,
            usage_expected,
            usage: None,
            carried: Usage::default(),
            events: Vec::new(),
            start: None,
            taps: Taps::default(),
            finished: false,
            malformed: 0,
            unreported_malformed: 0,
            refused: None,
            hold: None,
        }
    }

    /// Feeds one upstream event, appending the client's events to `out`. An
    /// upstream error event is never relayed: it becomes an `Err`, and so
    /// does a stream past [`MAX_MALFORMED_EVENTS`] events that do not parse,
    /// and one that ends without having given a finish reason.
    pub fn feed(&mut self, event: Bytes, out: &mut Vec<Bytes>) -> Result<Progress, StreamError> {
        let Some(data) = event_data(&event) else {
            if self.passthrough {
                out.push(event);
            }
            return Ok(Progress::Framing);
        };
        if data.trim().is_empty() {
            return Ok(Progress::Framing);
        }
        if self.skimming() {
            match skim(&data) {
                Skimmed::Malformed => return self.malformed(),
                Skimmed::Plain => {
                    out.push(event);
                    return Ok(Progress::Content);
                }
                Skimmed::Notable => {}
            }
        }
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        let decoded = self.decoder.decode(&data, &mut events);
        let result = match decoded {
            Err(DecodeError::Malformed) => self.malformed(),
            Err(DecodeError::Reported(error)) => Err(error),
            Ok(()) if self.hold.is_some() => self.hold_all(&events),
            Ok(()) => {
                // Skimming while relaying, an event is content by definition;
                // before (waiting for the first piece of the answer) it is
                // judged by what it holds, so a role-only first chunk commits
                // the client to nothing.
                let mut progress = if self.skim && self.taps.text.is_relaying() {
                    Progress::Content
                } else {
                    Progress::Framing
                };
                let mut ended_without_answer = false;
                for item in &events {
                    if *item == StreamEvent::End && !self.finished {
                        ended_without_answer = true;
                        break;
                    }
                    progress = progress.max(self.emit(item, out));
                }
                if ended_without_answer {
                    Err(no_finish())
                } else {
                    if self.passthrough {
                        out.push(event);
                    }
                    Ok(progress)
                }
            }
        };
        self.events = events;
        result
    }

    /// Whether OpenAI chunks passed through are skimmed rather than decoded:
    /// while relaying, unless the text is tracked, the answer captured or a
    /// continuation held.
    fn skimming(&self) -> bool {
        self.skim && !self.taps.want_every_event() && self.hold.is_none()
    }

    /// Counts an event that does not parse; past the bound, the stream is
    /// no longer trusted.
    fn malformed(&mut self) -> Result<Progress, StreamError> {
        self.malformed += 1;
        self.unreported_malformed += 1;
        if self.malformed > MAX_MALFORMED_EVENTS {
            return Err(StreamError {
                failure: Failure::transient(),
                message: format!("sent {} events that are not well-formed", self.malformed),
            });
        }
        Ok(Progress::Framing)
    }

    /// Handles one canonical event on its way to the client: tracked (text,
    /// usage, finish, the start), captured, and written unless passed through.
    fn emit(&mut self, item: &StreamEvent, out: &mut Vec<Bytes>) -> Progress {
        let carried;
        let item = match item {
            StreamEvent::Usage(usage) => {
                self.usage = Some(Tokens::from(*usage));
                carried = StreamEvent::Usage(Usage {
                    input: usage.input.saturating_add(self.carried.input),
                    output: usage.output.saturating_add(self.carried.output),
                });
                &carried
            }
            // Only the first start reaches the client: a continuation's is
            // part of the message the client already has.
            StreamEvent::Start { .. } if self.start.is_some() => return Progress::Framing,
            StreamEvent::Start { id, model } => {
                self.start = Some((id.clone(), model.clone()));
                item
            }
            StreamEvent::Finish(_) => {
                self.finished = true;
                item
            }
            _ => item,
        };
        self.taps.publish(item);
        if !self.passthrough {
            self.encoder.encode(item, out);
        }
        if *item == StreamEvent::End {
            Progress::Done
        } else if item.is_content() {
            Progress::Content
        } else {
            Progress::Framing
        }
    }

    /// Feeds decoded events to the held continuation.
    fn hold_all(&mut self, events: &[StreamEvent]) -> Result<Progress, StreamError> {
        let Some(hold) = &mut self.hold else {
            return Ok(Progress::Framing);
        };
        let mut progress = Progress::Framing;
        for item in events {
            if let StreamEvent::Start { id, model } = item {
                self.start
                    .get_or_insert_with(|| (id.clone(), model.clone()));
            }
            match item {
                StreamEvent::Usage(usage) => self.usage = Some(Tokens::from(*usage)),
                StreamEvent::Finish(_) => self.finished = true,
                StreamEvent::End if !self.finished => return Err(no_finish()),
                _ => {}
            }
            match hold.take(item) {
                Ok(Held::Pending) => {}
                Ok(Held::Joined) => progress = progress.max(Progress::Content),
                Ok(Held::Ended) => progress = Progress::Done,
                Err(why) => {
                    self.refused = Some(why);
                    return Err(StreamError {
                        failure: Failure::new(steadfast::FailureKind::Fatal),
                        message: format!("cannot continue the answer: {why}"),
                    });
                }
            }
        }
        Ok(progress)
    }

    /// At a clean end of the upstream's body without its own last event:
    /// whether the answer is whole all the same — it told its finish reason,
    /// and its usage where the upstream reports one — and if so, the client's
    /// end of the stream is appended to `out`.
    pub fn end_of_upstream(&mut self, out: &mut Vec<Bytes>) -> bool {
        let whole = self.finished && (self.usage.is_some() || !self.usage_expected);
        if !whole {
            return false;
        }
        if self.hold.is_some() {
            // A held continuation ends here: its splice is judged now.
            return self.hold_all(&[StreamEvent::End]) == Ok(Progress::Done);
        }
        if !self.passthrough {
            self.emit(&StreamEvent::End, out);
            return true;
        }
        let Some(end) = self.encoder.terminator() else {
            return false;
        };
        out.push(end);
        self.taps.publish(&StreamEvent::End);
        true
    }

    /// Holds this stream back as the continuation of a broken one: its
    /// events are judged by `splice` and kept for [`adopt`](Self::adopt)
    /// rather than written for the client.
    pub fn hold(&mut self, splice: Splice) {
        self.hold = Some(Hold::new(splice));
        self.passthrough = false;
        self.skim = false;
    }

    /// Why a held continuation was refused, if it was.
    pub fn refused(&self) -> Option<&'static str> {
        self.refused
    }

    /// Carries on the client's stream with `next`, a continuation accepted
    /// by its splice: its decoder reads the new upstream from now on, and
    /// what it held is written for the client into `out`. `carried` is the
    /// usage of the stream so far (see [`spent`](Self::spent)).
    pub fn adopt(
        &mut self,
        next: &mut StreamTranslator,
        carried: Usage,
        out: &mut Vec<Bytes>,
    ) -> Progress {
        if self.passthrough {
            let at = self.resumption();
            self.encoder.resume(&at);
            self.passthrough = false;
            self.skim = false;
        }
        std::mem::swap(&mut self.decoder, &mut next.decoder);
        self.usage_expected = next.usage_expected;
        self.malformed = next.malformed;
        self.usage = None;
        self.finished = false;
        self.carried = carried;
        self.taps.text.mark();
        let mut progress = Progress::Framing;
        for item in next.hold.take().map(|hold| hold.held).unwrap_or_default() {
            progress = progress.max(self.emit(&item, out));
        }
        progress
    }

    /// The usage of the stream so far, earlier parts included: what the
    /// upstream reported, else `prompt` tokens in and the text relayed out
    /// (about four bytes a token).
    pub fn spent(&self, prompt: u64) -> Usage {
        let reported = self.usage.unwrap_or_default();
        let input = if reported.input > 0 {
            reported.input
        } else {
            prompt
        };
        let output = if reported.output > 0 {
            reported.output
        } else {
            tokens::estimate(self.taps.text.since_mark())
        };
        Usage {
            input: self.carried.input.saturating_add(input),
            output: self.carried.output.saturating_add(output),
        }
    }

    /// Where the client's stream stands, for an encoder taking it over.
    fn resumption(&self) -> Resumption {
        let (id, model) = self.start.clone().unwrap_or_default();
        let (blocks, open_text) = self.decoder.blocks();
        Resumption {
            id,
            model,
            blocks,
            open_text,
        }
    }

    /// Whether another target can carry on from what was relayed: the whole
    /// text is kept, no tool call was relayed, and the answer had not told
    /// its finish yet (a stream broken after it cannot be carried on).
    pub fn resumable(&self) -> bool {
        self.taps.text.continuable() && !self.finished
    }

    /// Whether this is a held continuation whose text has begun to arrive
    /// and is still being judged.
    pub fn judging(&self) -> bool {
        self.hold.as_ref().is_some_and(Hold::heard)
    }

    /// The client event that ends a broken stream.
    pub fn error(&mut self, message: &str) -> Bytes {
        self.encoder.error(message)
    }

    /// The tokens this stream's upstream reported so far (after a
    /// resumption, the continuation's own).
    pub fn usage(&self) -> Option<Tokens> {
        self.usage
    }

    /// The model the stream's first event named, if any.
    pub fn model(&self) -> Option<&str> {
        self.start.as_ref().map(|(_, model)| model.as_str())
    }

    /// The answer text relayed so far, while it is tracked (see [`resumable`](Self::resumable)).
    pub fn text(&self) -> &str {
        self.taps.text.text()
    }

    /// Events dropped because they did not parse since the last call.
    pub fn take_malformed(&mut self) -> u32 {
        std::mem::take(&mut self.unreported_malformed)
    }

    /// Starts relaying: from now on, OpenAI passed through is skimmed unless
    /// the text must be tracked (for stream resumption).
    pub fn relaying(&mut self, track_text: bool) {
        self.taps.text.relaying(track_text);
    }

    /// Puts the whole answer together as it passes (decoding every event),
    /// giving up past `limit` bytes; see [`StreamTranslator::captured`].
    pub fn capture(&mut self, limit: usize) {
        self.taps.capture(limit);
    }

    /// The whole answer put together, once the stream has ended within the
    /// bound of [`StreamTranslator::capture`].
    pub fn captured(&mut self) -> Option<ChatResponse> {
        self.taps.captured()
    }
}

/// A stream that ended without saying how its answer ended (no finish
/// reason: a malformed or foreign stream) has no answer to serve: it fails
/// like a cut one.
fn no_finish() -> StreamError {
    StreamError {
        failure: Failure::transient(),
        message: "ended its stream without a finish reason".into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::Format;
    use crate::translate::Translation;

    fn event(data: &Value) -> Bytes {
        Bytes::from(format!("data: {data}\n\n"))
    }

    fn text(piece: &str) -> Bytes {
        event(
            &json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]}),
        )
    }

    fn finish() -> Bytes {
        event(
            &json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        )
    }

    fn usage(output: u64) -> Bytes {
        event(
            &json!({"id": "c1", "model": "m", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": output, "total_tokens": 5 + output}}),
        )
    }

    fn openai(client: Format, include_usage: bool) -> StreamTranslator {
        Translation {
            client,
            target: Format::Openai,
            include_usage,
        }
        .stream()
    }

    /// The client's events, as text.
    fn relayed(out: &[Bytes]) -> String {
        out.iter()
            .map(|event| String::from_utf8_lossy(event).into_owned())
            .collect()
    }

    #[test]
    fn an_event_that_does_not_parse_is_dropped_and_counted_and_too_many_end_the_trust() {
        let mut stream = openai(Format::Openai, false);
        stream.relaying(false);
        let mut out = Vec::new();
        let broken = Bytes::from_static(
            b"data: {\"id\": \"c1\", \"choices\": [{\"delta\": {\"content\": \n\n",
        );
        stream.feed(text("Hello"), &mut out).unwrap();
        assert_eq!(stream.feed(broken.clone(), &mut out), Ok(Progress::Framing));
        stream.feed(text(" world"), &mut out).unwrap();
        assert_eq!(out, vec![text("Hello"), text(" world")], "never relayed");
        assert_eq!(stream.take_malformed(), 1);
        assert_eq!(stream.take_malformed(), 0);
        stream.feed(finish(), &mut out).unwrap();
        let done = Bytes::from_static(b"data: [DONE]\n\n");
        assert_eq!(
            stream.feed(done.clone(), &mut out),
            Ok(Progress::Done),
            "skimmed, the end is seen"
        );
        assert_eq!(out.last(), Some(&done));
        let mut stream = openai(Format::Openai, false);
        stream.relaying(false);
        for _ in 0..MAX_MALFORMED_EVENTS {
            stream.feed(broken.clone(), &mut out).unwrap();
        }
        let error = stream.feed(broken, &mut out).unwrap_err();
        assert!(
            error.message.contains("not well-formed"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_stream_whose_finish_and_usage_came_is_whole_without_its_last_event() {
        let mut stream = openai(Format::Openai, true);
        stream.relaying(false);
        let mut out = Vec::new();
        stream.feed(text("Hi"), &mut out).unwrap();
        stream.feed(finish(), &mut out).unwrap();
        assert!(
            !stream.end_of_upstream(&mut out),
            "usage was asked for and is missing"
        );
        stream.feed(usage(1), &mut out).unwrap();
        assert!(stream.end_of_upstream(&mut out));
        assert_eq!(out.last(), Some(&Bytes::from_static(b"data: [DONE]\n\n")));

        // Usage not asked for: the finish is enough.
        let mut stream = openai(Format::Openai, false);
        stream.relaying(false);
        stream.feed(text("Hi"), &mut out).unwrap();
        assert!(!stream.end_of_upstream(&mut out), "no finish: cut");
        stream.feed(finish(), &mut out).unwrap();
        assert!(stream.end_of_upstream(&mut out));
    }

    #[test]
    fn a_translated_stream_whole_without_its_last_event_ends_in_the_clients_format() {
        let mut stream = openai(Format::Anthropic, false);
        stream.relaying(false);
        let mut out = Vec::new();
        for piece in [text("Hi"), finish(), usage(1)] {
            stream.feed(piece, &mut out).unwrap();
        }
        assert!(stream.end_of_upstream(&mut out));
        let events = relayed(&out);
        assert!(events.contains("\"stop_reason\":\"end_turn\""), "{events}");
        assert!(
            events.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            "{events}"
        );
    }

    /// A broken stream and its continuation, judged and adopted: the client
    /// gets the rest once, with the usage of both parts.
    fn resume(client: Format, first: &[Bytes], continuation: &[Bytes]) -> (String, Progress) {
        let mut stream = Translation {
            client,
            target: if client == Format::Anthropic {
                Format::Anthropic
            } else {
                Format::Openai
            },
            include_usage: true,
        }
        .stream();
        stream.relaying(true);
        let mut out = Vec::new();
        for piece in first {
            stream.feed(piece.clone(), &mut out).unwrap();
        }
        let mut next = openai(client, true);
        next.hold(Splice::new(stream.text(), true));
        let taken = 1 + continuation
            .iter()
            .position(|piece| {
                next.feed(piece.clone(), &mut Vec::new()).unwrap() > Progress::Framing
            })
            .expect("the continuation is accepted");
        let carried = stream.spent(5);
        let mut progress = stream.adopt(&mut next, carried, &mut out);
        for piece in &continuation[taken..] {
            progress = progress.max(stream.feed(piece.clone(), &mut out).unwrap());
        }
        (relayed(&out), progress)
    }

    #[test]
    fn a_restarted_continuation_passed_through_is_joined_once_with_both_usages() {
        let first = [text("The gateway "), text("keeps")];
        let continuation = [
            text("The gateway keeps"),
            text(" answering"),
            text(" when providers fail."),
            finish(),
            usage(7),
            Bytes::from_static(b"data: [DONE]\n\n"),
        ];
        let (events, progress) = resume(Format::Openai, &first, &continuation);
        assert_eq!(progress, Progress::Done);
        assert_eq!(events.matches("The gateway").count(), 1, "{events}");
        assert!(events.contains("\" answering\""), "{events}");
        assert!(events.contains("\" when providers fail.\""), "{events}");
        // 7 from the continuation, 5 estimated for the 17 bytes relayed first;
        // 5 prompt tokens from each part.
        assert!(events.contains("\"completion_tokens\":12"), "{events}");
        assert!(events.contains("\"prompt_tokens\":10"), "{events}");
        assert!(events.ends_with("data: [DONE]\n\n"), "{events}");
    }

    fn anthropic_event(data: &Value) -> Bytes {
        Bytes::from(format!(
            "event: {}\ndata: {data}\n\n",
            data["type"].as_str().unwrap()
        ))
    }

    #[test]
    fn an_anthropic_stream_passed_through_is_continued_in_its_open_text_block() {
        let first = [
            anthropic_event(
                &json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 9, "output_tokens": 1}}}),
            ),
            anthropic_event(
                &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
            ),
            anthropic_event(&json!({"type": "content_block_stop", "index": 0})),
            anthropic_event(
                &json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
            ),
            anthropic_event(
                &json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "The gateway keeps"}}),
            ),
        ];
        let continuation = [
            text(" answering when providers fail, and it tells the client nothing of it."),
            finish(),
            usage(7),
            Bytes::from_static(b"data: [DONE]\n\n"),
        ];
        let (events, progress) = resume(Format::Anthropic, &first, &continuation);
        assert_eq!(progress, Progress::Done);
        let after_break = &events[events.find("The gateway keeps").unwrap()..];
        assert!(
            after_break.contains("{\"delta\":{\"text\":\" answering when providers fail, and it tells the client nothing of it.\",\"type\":\"text_delta\"},\"index\":1,"),
            "the rest goes to the open text block: {after_break}"
        );
        assert!(!after_break.contains("message_start"), "{after_break}");
        assert!(
            after_break.contains("\"content_block_stop\",\"index\":1")
                || after_break.contains("\"index\":1,\"type\":\"content_block_stop\""),
            "{after_break}"
        );
        assert!(
            after_break.contains("\"output_tokens\":12"),
            "7 + 5 estimated: {after_break}"
        );
        assert!(
            after_break.contains("\"input_tokens\":14"),
            "5 + the 9 reported: {after_break}"
        );
        assert!(
            after_break.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            "{after_break}"
        );
    }

    #[test]
    fn a_departing_continuation_is_refused_and_says_why() {
        let mut next = openai(Format::Openai, true);
        next.hold(Splice::new("The gateway keeps answering when", true));
        let error = next
            .feed(
                text("The gateway keeps working whatever happens."),
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(next.refused().is_some());
        assert!(
            error.message.starts_with("cannot continue the answer"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_held_continuation_whole_without_its_last_event_is_judged_at_its_end() {
        let mut next = openai(Format::Openai, true);
        next.hold(Splice::new("The gateway ", false));
        for piece in [text("keeps"), text(" answering."), finish(), usage(3)] {
            assert_eq!(
                next.feed(piece, &mut Vec::new()),
                Ok(Progress::Framing),
                "short: judged at its end"
            );
        }
        assert!(next.end_of_upstream(&mut Vec::new()));
        let mut stream = openai(Format::Openai, true);
        stream.relaying(true);
        let mut out = Vec::new();
        stream.feed(text("The gateway "), &mut out).unwrap();
        assert_eq!(
            stream.adopt(&mut next, Usage::default(), &mut out),
            Progress::Done
        );
        assert!(
            relayed(&out).contains("\"keeps answering.\""),
            "{}",
            relayed(&out)
        );
    }

    #[test]
    fn a_stream_that_ends_without_a_finish_reason_is_no_answer() {
        let mut stream = openai(Format::Anthropic, false);
        stream.relaying(false);
        let mut out = Vec::new();
        stream
            .feed(Bytes::from_static(b"data: not json\n\n"), &mut out)
            .unwrap();
        let error = stream
            .feed(Bytes::from_static(b"data: [DONE]\n\n"), &mut out)
            .unwrap_err();
        assert!(
            error.message.contains("without a finish reason"),
            "{}",
            error.message
        );
        assert!(
            !relayed(&out).contains("message_stop"),
            "no end of a message that never began: {}",
            relayed(&out)
        );
    }
}
