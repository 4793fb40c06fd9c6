//! A streamed answer relayed to its client, over one target's stream at a
//! time (module `relay`): the request's [`RequestRecord`], finished when the
//! client's stream ends (served when the answer was whole, failed when it
//! broke, cancelled when the client went away first); the route's
//! `stream_deadline`; the answer kept in the route's cache once whole; and,
//! with a [`Resume`] (a route's `stream_resume: true`), a broken stream
//! carried on by another target: the text sent so far goes to the next
//! targets, and a continuation known to join that text
//! (`steadfast_wire::splice`) is adopted into the same client stream. A
//! stream that breaks without one ends with an error event in the client's
//! format (never as a clean finish) and counts against its target.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use futures_util::future::BoxFuture;
use steadfast::Failure;
use tokio::time::Instant;

use crate::cache::CachePlan;
use crate::outcome::{Attempt, Outcome};
use crate::record::RequestRecord;
use crate::relay::{OpenStream, Pulled};

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

/// The client's stream of one request.
pub(crate) struct StreamSession {
    open: OpenStream,
    record: Option<RequestRecord>,
    /// When the route's `stream_deadline` passes.
    deadline: Instant,
    /// Continues the stream on another target if it breaks.
    resume: Option<Resume>,
    /// The targets tried for this stream.
    tried: Vec<Arc<str>>,
    /// Where the whole answer is kept once it has ended, if anywhere.
    keep: Option<CachePlan>,
    /// The stream ended in error; nothing follows the pending events.
    broken: bool,
}

impl StreamSession {
    /// The client's stream over `open`, whose first piece has arrived:
    /// `record` finished when it ends, an error at `deadline`, continued by
    /// `resume` if it breaks, the whole answer kept by `keep`.
    pub(crate) fn new(
        mut open: OpenStream,
        record: RequestRecord,
        deadline: Instant,
        resume: Option<Resume>,
        keep: Option<CachePlan>,
    ) -> StreamSession {
        open.translator().relaying(resume.is_some());
        StreamSession {
            tried: vec![Arc::clone(open.name())],
            open,
            record: Some(record),
            deadline,
            resume,
            keep,
            broken: false,
        }
    }

    /// The client's events, as they come.
    pub(crate) fn relay(
        self,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        futures_util::stream::unfold(self, |mut session| async move {
            session.next().await.map(|event| (Ok(event), session))
        })
    }

    async fn next(&mut self) -> Option<Bytes> {
        loop {
            self.keep_if_whole();
            if let Some(event) = self.open.pop_event() {
                return Some(event);
            }
            if self.open.is_done() || self.broken {
                self.settle();
                return None;
            }
            // Checked on every event too: an upstream that never pauses must
            // not outlast the deadline either.
            let (failure, problem) = if Instant::now() >= self.deadline {
                // The whole stream is over its time: no continuation either.
                self.resume = None;
                let problem = "the stream reached its route's stream_deadline";
                (Failure::timeout(), problem.to_owned())
            } else {
                match self.open.pull(self.deadline).await {
                    Pulled::Progress | Pulled::Deadline => continue,
                    Pulled::Broke(failure, problem) => (failure, problem),
                }
            };
            let admission = self.open.take_admission()?;
            let problem = admission.target().provider.clean(&problem);
            admission.fail(failure);
            let name = Arc::clone(self.open.name());
            if let Some(record) = &mut self.record {
                record.broke(&name, failure.kind);
            }
            if self.try_resume().await {
                continue;
            }
            self.broken = true;
            return Some(self.open.translator().error(&format!("{problem} ({name})")));
        }
    }

    /// Keeps the whole answer where the route keeps answers, once it is
    /// whole (the translator was asked to put it together, see `Call::capture`).
    fn keep_if_whole(&mut self) {
        if !self.open.is_done() {
            return;
        }
        if let Some(plan) = self.keep.take() {
            if let Some(answer) = self.open.translator().captured() {
                plan.keep(answer);
            }
        }
    }

    /// Switches to a continuation from another target, if resumption is on
    /// and one can be had.
    async fn try_resume(&mut self) -> bool {
        let Some(resume) = self.resume.clone() else {
            return false;
        };
        let translator = self.open.translator();
        if !translator.resumable() || translator.text().trim().is_empty() {
            tracing::warn!(
                target_model = %self.open.name(),
                "a stream that cannot be continued broke (no text, tool calls, or longer than the text kept): not resumed"
            );
            return false;
        }
        let text = translator.text().to_owned();
        let relayed_chars = text.len();
        let resumed = resume(text, self.tried.clone()).await;
        if let Some(record) = &mut self.record {
            record.add_attempts(resumed.attempts);
        }
        let Some(next) = resumed.stream else {
            return false;
        };
        tracing::warn!(target_model = %next.name(), relayed_chars, "stream resumed on another target");
        self.tried.push(Arc::clone(next.name()));
        self.open.adopt(next, resumed.prompt_tokens);
        true
    }

    /// Finishes the request's record as what the stream came to: served when
    /// the answer was whole, failed when it broke, cancelled when the client
    /// left before either.
    fn settle(&mut self) {
        let Some(record) = self.record.take() else {
            return;
        };
        let outcome = if self.open.is_done() {
            Outcome::Served
        } else if self.broken {
            Outcome::Failed
        } else {
            Outcome::Cancelled
        };
        record.finish(outcome);
    }
}

impl Drop for StreamSession {
    fn drop(&mut self) {
        self.keep_if_whole();
        self.settle();
    }
}
