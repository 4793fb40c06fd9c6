//! Relaying a streamed answer to the client: the events received while
//! waiting for the first piece of the answer, then each event as it arrives,
//! translated as the exchange needs. A stream is whole when its upstream
//! ended it, or ended its body cleanly after its finish reason (and usage,
//! where the upstream reports one) without its last event. A stream that
//! breaks, stalls longer than the target's timeout, reports an error or ends
//! before the answer is whole ends with an error event in the client's
//! format (never as a clean finish) and counts against the target — unless a
//! [`Resume`] (a route's `stream_resume: true`) gets a continuation from
//! another target: the relay tracks the text sent so far, asks the next
//! target to carry on from it and, once the continuation is known to join
//! that text (`steadfast_wire::splice`), adopts it into the same client stream.
//!
//! The relay carries the request's [`RequestRecord`] and finishes it when the
//! client's stream ends: served when the answer was whole, failed when it
//! broke, cancelled when the client went away first.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use http_body_util::BodyExt as _;
use steadfast::Failure;
use steadfast_wire::Format;
use steadfast_wire::StreamError;
use steadfast_wire::framing::Framing;
use steadfast_wire::translate::{Progress, StreamTranslator};
use tokio::time::Instant;

use crate::admission::Admission;
use crate::cache::CachePlan;
use crate::outcome::{Attempt, Outcome};
use crate::record::RequestRecord;

/// Longest wait for the upstream's next bytes that a timer can hold (a
/// target's timeout is far shorter; this keeps the sum from overflowing).
const MAX_IDLE: Duration = Duration::from_secs(365 * 24 * 3600);

/// The upstream's bytes, as they arrive.
type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, hyper::Error>> + Send>>;

/// Opens a continuation of a broken stream: given the text the client has
/// received and the targets already tried, a stream from another target that
/// continues it, if one can be had, and the attempts made to get it.
pub(crate) type Resume =
    Arc<dyn Fn(String, Vec<Arc<str>>) -> BoxFuture<'static, Resumed> + Send + Sync>;

/// What an attempt to continue a broken stream came to.
pub(crate) struct Resumed {
    /// The continuation, accepted by its splice, if a target gave one.
    pub stream: Option<OpenStream>,
    /// The attempts made for it.
    pub attempts: Vec<Attempt>,
    /// The prompt's tokens, estimated (for the usage of the earlier parts
    /// where their upstream did not report it).
    pub prompt_tokens: u64,
}

/// A streamed answer whose first piece has arrived: the client can be
/// committed to it.
pub(crate) struct OpenStream {
    admission: Option<Admission>,
    pending: VecDeque<Bytes>,
    splitter: Framing,
    upstream: ByteStream,
    translator: StreamTranslator,
    idle: Duration,
    /// When the route's `stream_deadline` passes.
    deadline: Option<Instant>,
    /// The upstream's answer is complete.
    done: bool,
    /// The stream ended in error; nothing follows the pending events.
    broken: bool,
    /// The target's name.
    name: Arc<str>,
    /// Continues the stream on another target if it breaks.
    resume: Option<Resume>,
    /// The targets tried for this stream.
    tried: Vec<Arc<str>>,
    /// The request's record, once the stream is relayed to its client.
    record: Option<RequestRecord>,
    /// Where the whole answer is kept once it has ended, if anywhere.
    keep: Option<CachePlan>,
}

impl OpenStream {
    /// A stream over an upstream answer in `format`, not yet read.
    pub(crate) fn new(
        response: crate::upstream::Response,
        format: Format,
        translator: StreamTranslator,
    ) -> OpenStream {
        OpenStream {
            admission: None,
            pending: VecDeque::new(),
            splitter: Framing::of(format),
            upstream: Box::pin(response.into_body().into_data_stream()),
            translator,
            idle: Duration::MAX,
            deadline: None,
            done: false,
            broken: false,
            name: "upstream".into(),
            resume: None,
            tried: Vec::new(),
            record: None,
            keep: None,
        }
    }

    /// The model the stream's first event named, if any.
    pub(crate) fn model(&self) -> Option<&str> {
        self.translator.model()
    }

    /// Reads until the first piece of the answer (or the whole of a short one).
    pub(super) async fn first_content(&mut self) -> Result<(), StreamError> {
        loop {
            match self.drain() {
                Ok(Progress::Framing) => {}
                Ok(_) => return Ok(()),
                Err(error) => {
                    return Err(StreamError {
                        message: format!("sent an error instead of an answer: {}", error.message),
                        ..error
                    });
                }
            }
            match self.upstream.next().await {
                Some(Ok(chunk)) => self.splitter.push(&chunk),
                None if self.end_of_upstream() => return Ok(()),
                Some(Err(_)) | None => {
                    return Err(StreamError {
                        failure: Failure::transient(),
                        message: "closed the stream before the first chunk".into(),
                    });
                }
            }
        }
    }

    /// The upstream's body ended cleanly: whether its answer is whole all the
    /// same (see the module's doc), and if so the stream is done.
    fn end_of_upstream(&mut self) -> bool {
        let mut out = Vec::new();
        if !self.translator.end_of_upstream(&mut out) {
            return false;
        }
        self.pending.extend(out);
        self.finished();
        true
    }

    /// Why a held continuation was not joined, if it was not.
    pub(crate) fn refused(&self) -> Option<&'static str> {
        self.translator.refused()
    }

    /// Whether this is a held continuation whose text is still being judged.
    pub(crate) fn judging(&self) -> bool {
        self.translator.judging()
    }

    /// Keeps the whole answer in the route's cache when it has ended (the
    /// translator was asked to put it together, see `Call::capture`).
    pub(crate) fn keep_answer(&mut self, plan: CachePlan) {
        if self.done {
            if let Some(answer) = self.translator.captured() {
                plan.keep(answer);
            }
        } else {
            self.keep = Some(plan);
        }
    }

    /// Hands the stream the target's admission, to record its outcome.
    pub(crate) fn with_admission(mut self, admission: Admission) -> OpenStream {
        self.idle = admission.target().timeout();
        self.name = Arc::clone(&admission.target().name);
        self.admission = Some(admission);
        self.report_malformed();
        if self.done {
            if let Some(admission) = self.admission.take() {
                admission.succeed(self.translator.usage());
            }
        }
        self
    }

    /// Feeds every complete upstream event to the translator, queueing what
    /// the client gets; returns the furthest progress seen.
    fn drain(&mut self) -> Result<Progress, StreamError> {
        let mut furthest = Progress::Framing;
        let mut out = Vec::new();
        let result = loop {
            if self.done {
                break Ok(furthest);
            }
            let event = match self.splitter.next_event() {
                Ok(Some(event)) => event,
                Ok(None) => break Ok(furthest),
                Err(message) => {
                    break Err(StreamError {
                        failure: Failure::transient(),
                        message,
                    });
                }
            };
            let progress = self.translator.feed(event, &mut out);
            self.pending.extend(out.drain(..));
            match progress {
                Ok(Progress::Done) => {
                    furthest = Progress::Done;
                    self.finished();
                }
                Ok(progress) => furthest = furthest.max(progress),
                Err(error) => break Err(error),
            }
        };
        self.report_malformed();
        result
    }

    /// The upstream's answer is whole: the target succeeded, and the answer
    /// is kept where the route keeps answers.
    fn finished(&mut self) {
        self.done = true;
        if let Some(admission) = self.admission.take() {
            admission.succeed(self.translator.usage());
        }
        if let Some(plan) = self.keep.take() {
            if let Some(answer) = self.translator.captured() {
                plan.keep(answer);
            }
        }
    }

    /// Counts the events dropped because they did not parse, once the
    /// target is known.
    fn report_malformed(&mut self) {
        let Some(admission) = &self.admission else {
            return;
        };
        let dropped = self.translator.take_malformed();
        if dropped > 0 {
            let target = admission.target();
            target.metrics.malformed_events(dropped);
            tracing::debug!(target_model = %target.name, dropped, "stream events that do not parse were dropped");
        }
    }

    /// The client's events, as they come; `resume` continues the stream on
    /// another target if it breaks after the first piece. `record` is
    /// finished when the stream ends; at `deadline` it ends with an error.
    pub(crate) fn relay(
        mut self,
        resume: Option<Resume>,
        record: RequestRecord,
        deadline: Instant,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        self.translator.relaying(resume.is_some());
        self.tried = vec![Arc::clone(&self.name)];
        self.resume = resume;
        self.record = Some(record);
        self.deadline = Some(deadline);
        futures_util::stream::unfold(self, |mut open| async move {
            open.next().await.map(|event| (Ok(event), open))
        })
    }

    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.done || self.broken {
                self.settle();
                return None;
            }
            let now = Instant::now();
            let stalled_at = now + self.idle.min(MAX_IDLE);
            let until = self.deadline.map_or(stalled_at, |d| d.min(stalled_at));
            // Checked on every event too: an upstream that never pauses must
            // not outlast the deadline either.
            let past_deadline = self.deadline.is_some_and(|d| now >= d);
            let (failure, problem) = if past_deadline {
                // The whole stream is over its time: no continuation either.
                self.resume = None;
                (
                    Failure::timeout(),
                    "the stream reached its route's stream_deadline".to_owned(),
                )
            } else {
                match self.drain() {
                    Err(error) => (
                        error.failure,
                        format!("the upstream stream reported an error: {}", error.message),
                    ),
                    Ok(_) if !self.pending.is_empty() || self.done => continue,
                    Ok(_) => match tokio::time::timeout_at(until, self.upstream.next()).await {
                        Ok(Some(Ok(chunk))) => {
                            self.splitter.push(&chunk);
                            continue;
                        }
                        Ok(None) if self.end_of_upstream() => continue,
                        Ok(None) => (
                            Failure::transient(),
                            "the upstream stream ended before the answer was complete".to_owned(),
                        ),
                        Ok(Some(Err(_))) => {
                            (Failure::transient(), "the upstream stream broke".to_owned())
                        }
                        // The deadline came first: said at the top of the loop.
                        Err(_) if until < stalled_at => continue,
                        Err(_) => (
                            Failure::transient(),
                            "the upstream stream stalled".to_owned(),
                        ),
                    },
                }
            };
            let admission = self.admission.take()?;
            let problem = admission.target().provider.clean(&problem);
            admission.fail(failure);
            if let Some(record) = &mut self.record {
                record.broke(&self.name, failure.kind);
            }
            if self.try_resume().await {
                continue;
            }
            self.broken = true;
            let message = format!("{problem} ({})", self.name);
            return Some(self.translator.error(&message));
        }
    }

    /// Switches to a continuation from another target, if resumption is on
    /// and one can be had.
    async fn try_resume(&mut self) -> bool {
        let Some(resume) = self.resume.clone() else {
            return false;
        };
        if !self.translator.resumable() || self.translator.text().trim().is_empty() {
            tracing::warn!(
                target_model = %self.name,
                "a stream that cannot be continued broke (no text, tool calls, or longer than the text kept): not resumed"
            );
            return false;
        }
        let text = self.translator.text().to_owned();
        let resumed = resume(text, self.tried.clone()).await;
        if let Some(record) = &mut self.record {
            record.add_attempts(resumed.attempts);
        }
        let Some(next) = resumed.stream else {
            return false;
        };
        tracing::warn!(target_model = %next.name, relayed_chars = self.translator.text().len(), "stream resumed on another target");
        self.adopt(next, resumed.prompt_tokens);
        true
    }

    /// Carries on the client's stream with `next`, a continuation whose
    /// splice accepted it: its upstream and target from now on, what it held
    /// written for the client.
    fn adopt(&mut self, mut next: OpenStream, prompt_tokens: u64) {
        let carried = self.translator.spent(prompt_tokens);
        let mut out = Vec::new();
        let progress = self
            .translator
            .adopt(&mut next.translator, carried, &mut out);
        self.pending.extend(out);
        // The broken upstream goes with `next`, and is closed with it.
        std::mem::swap(&mut self.upstream, &mut next.upstream);
        std::mem::swap(&mut self.splitter, &mut next.splitter);
        self.admission = next.admission.take();
        self.idle = next.idle;
        self.name = Arc::clone(&next.name);
        self.tried.push(Arc::clone(&next.name));
        if next.done || progress == Progress::Done {
            self.finished();
        }
    }

    /// Finishes the request's record as what the stream came to: served when
    /// the answer was whole, failed when it broke, cancelled when the client
    /// left before either.
    fn settle(&mut self) {
        let Some(record) = self.record.take() else {
            return;
        };
        let outcome = if self.done {
            Outcome::Served
        } else if self.broken {
            Outcome::Failed
        } else {
            Outcome::Cancelled
        };
        record.finish(outcome);
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.settle();
    }
}
