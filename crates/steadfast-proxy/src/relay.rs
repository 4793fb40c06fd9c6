//! One target's streamed answer: the events received while waiting for the
//! first piece of the answer, then each event as it arrives, split by the
//! format's framing and translated as the exchange needs, the target's
//! admission settled when the answer is whole. A stream is whole when its
//! upstream ended it, or ended its body cleanly after its finish reason (and
//! usage, where the upstream reports one) without its last event; one that
//! breaks, stalls longer than the target's timeout or reports an error says
//! so ([`Pulled::Broke`]). The client's stream over it — the record, the
//! deadline, resumption on another target — is module `session`'s.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::BodyExt as _;
use steadfast::Failure;
use steadfast_wire::Format;
use steadfast_wire::StreamError;
use steadfast_wire::framing::Framing;
use steadfast_wire::translate::{Progress, StreamTranslator};
use tokio::time::Instant;

use crate::admission::Admission;

/// Longest wait for the upstream's next bytes that a timer can hold (a
/// target's timeout is far shorter; this keeps the sum from overflowing).
const MAX_IDLE: Duration = Duration::from_secs(365 * 24 * 3600);

/// The upstream's bytes, as they arrive.
type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, hyper::Error>> + Send>>;

/// A streamed answer whose first piece has arrived: the client can be
/// committed to it.
pub(crate) struct OpenStream {
    admission: Option<Admission>,
    pending: VecDeque<Bytes>,
    splitter: Framing,
    upstream: ByteStream,
    translator: StreamTranslator,
    idle: Duration,
    /// The upstream's answer is complete.
    done: bool,
    /// The target's name.
    name: Arc<str>,
}

/// What reading a stream further came to ([`OpenStream::pull`]).
pub(crate) enum Pulled {
    /// Events for the client, or the end of the answer.
    Progress,
    /// The deadline passed first.
    Deadline,
    /// The upstream broke, stalled or reported an error: the failure, and
    /// what happened in words.
    Broke(Failure, String),
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
            done: false,
            name: "upstream".into(),
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

    /// The upstream's answer is whole: the target succeeded.
    fn finished(&mut self) {
        self.done = true;
        if let Some(admission) = self.admission.take() {
            admission.succeed(self.translator.usage());
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

    /// Reads further, until there are events for the client or the answer
    /// is whole, `deadline` passes, or the upstream breaks, reports an error
    /// or stalls longer than its target's timeout.
    pub(crate) async fn pull(&mut self, deadline: Instant) -> Pulled {
        match self.drain() {
            Err(error) => {
                let problem = format!("the upstream stream reported an error: {}", error.message);
                return Pulled::Broke(error.failure, problem);
            }
            Ok(_) if !self.pending.is_empty() || self.done => return Pulled::Progress,
            Ok(_) => {}
        }
        let stalled_at = Instant::now() + self.idle.min(MAX_IDLE);
        let until = deadline.min(stalled_at);
        let broke = |problem: &str| Pulled::Broke(Failure::transient(), problem.to_owned());
        match tokio::time::timeout_at(until, self.upstream.next()).await {
            Ok(Some(Ok(chunk))) => {
                self.splitter.push(&chunk);
                Pulled::Progress
            }
            Ok(None) if self.end_of_upstream() => Pulled::Progress,
            Ok(None) => broke("the upstream stream ended before the answer was complete"),
            Ok(Some(Err(_))) => broke("the upstream stream broke"),
            Err(_) if until < stalled_at => Pulled::Deadline,
            Err(_) => broke("the upstream stream stalled"),
        }
    }

    /// The next event for the client, if one is ready.
    pub(crate) fn pop_event(&mut self) -> Option<Bytes> {
        self.pending.pop_front()
    }

    /// Whether the upstream's answer is whole.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// The target's name.
    pub(crate) fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The target's admission, while its outcome is not yet recorded.
    pub(crate) fn take_admission(&mut self) -> Option<Admission> {
        self.admission.take()
    }

    /// The translator of the client's stream.
    pub(crate) fn translator(&mut self) -> &mut StreamTranslator {
        &mut self.translator
    }

    /// Carries on the client's stream with `next`, a continuation whose
    /// splice accepted it: its upstream and target from now on, what it held
    /// written for the client.
    pub(crate) fn adopt(&mut self, mut next: OpenStream, prompt_tokens: u64) {
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
        if next.done || progress == Progress::Done {
            self.finished();
        }
    }
}
