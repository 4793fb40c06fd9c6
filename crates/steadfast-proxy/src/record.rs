//! The one owner of a request's outcome. A [`RequestRecord`] is made when the
//! route is known and gathers every attempt of the request (those of a
//! stream's continuations too); it counts, logs and traces the request once,
//! when its answer has really ended: a whole answer when it is handed over, a
//! stream after its last event or its error event, and — if it is dropped
//! unfinished — as cancelled (the client went away). Route signals (what
//! alerts and reports read), Prometheus and the log line so always agree.

use std::sync::Arc;
use std::time::Duration;

use steadfast::FailureKind;
use tokio::time::Instant;
use tracing::Span;

use crate::outcome::{self, Attempt, AttemptResult, Outcome};
use crate::runtime::Route;
use crate::runtime::shed::ShedPermit;

/// The record of one request on one route, finished exactly once.
#[derive(Debug)]
pub(crate) struct RequestRecord {
    route: Arc<Route>,
    request_id: Arc<str>,
    stream: bool,
    started: Instant,
    /// When the answer (a stream's first token) was handed to the client.
    answered_after: Option<Duration>,
    attempts: Vec<Attempt>,
    /// Streams that broke after their first token: the target and why.
    broken: Vec<(Arc<str>, FailureKind)>,
    span: Span,
    finished: bool,
    /// The request's place in its route's capacity, given back when it ends.
    place: Option<ShedPermit>,
}

impl RequestRecord {
    /// Starts the record of a request on `route`, traced by `span`.
    pub(crate) fn new(
        route: &Arc<Route>,
        request_id: &str,
        stream: bool,
        span: Span,
    ) -> RequestRecord {
        RequestRecord {
            route: Arc::clone(route),
            request_id: request_id.into(),
            stream,
            started: Instant::now(),
            answered_after: None,
            attempts: Vec::new(),
            broken: Vec::new(),
            span,
            finished: false,
            place: None,
        }
    }

    /// The request's trace span.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// When the request began.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// The request's id.
    pub(crate) fn request_id(&self) -> &Arc<str> {
        &self.request_id
    }

    /// Adds attempts made for the request.
    pub(crate) fn add_attempts(&mut self, attempts: impl IntoIterator<Item = Attempt>) {
        self.attempts.extend(attempts);
    }

    /// The answer (a stream's first token) reached the client now.
    pub(crate) fn answered(&mut self) {
        self.answered_after
            .get_or_insert_with(|| self.started.elapsed());
    }

    /// Holds the request's place in its route's capacity until it ends.
    pub(crate) fn hold(&mut self, place: ShedPermit) {
        self.place = Some(place);
    }

    /// A stream from `target` broke after its first token, failing with `kind`.
    pub(crate) fn broke(&mut self, target: &Arc<str>, kind: FailureKind) {
        self.broken.push((Arc::clone(target), kind));
    }

    /// Counts, logs and traces the request as ended with `outcome`.
    pub(crate) fn finish(mut self, outcome: Outcome) {
        self.settle(outcome);
    }

    fn settle(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let elapsed = self.started.elapsed();
        let target = self
            .attempts
            .iter()
            .rev()
            .find(|a| {
                matches!(
                    a.result,
                    AttemptResult::Served | AttemptResult::Failed { .. }
                )
            })
            .map(|a| &*a.target);
        let route = &self.route;
        route
            .metrics
            .request(target, outcome, self.answered_after, elapsed, self.stream);
        let failed_over = outcome == Outcome::Served && self.failed_over();
        route.signals.count(outcome, failed_over);
        self.place = None;
        self.log(outcome, target, elapsed);
    }

    /// Whether the target that served did so after another target failed,
    /// was skipped, or broke mid-stream.
    fn failed_over(&self) -> bool {
        let served = self
            .attempts
            .iter()
            .rev()
            .find(|a| matches!(a.result, AttemptResult::Served))
            .map(|a| &a.target);
        outcome::failed_over(&self.attempts)
            || self.broken.iter().any(|(target, _)| Some(target) != served)
    }

    fn log(&self, outcome: Outcome, target: Option<&str>, elapsed: Duration) {
        let latency_ms = self.answered_after.unwrap_or(elapsed).as_secs_f64() * 1000.0;
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        let (request_id, route, target, sent, stream) = (
            &*self.request_id,
            &*self.route.name,
            target.unwrap_or("none"),
            outcome::sent(&self.attempts),
            self.stream,
        );
        let name = outcome.as_str();
        self.span.record("outcome", name);
        self.span.record("target", target);
        self.span.record("attempts", sent);
        match outcome {
            Outcome::Served if self.broken.is_empty() => tracing::info!(
                request_id,
                route,
                target,
                attempts = sent,
                outcome = name,
                stream,
                latency_ms,
                duration_ms,
                "request"
            ),
            Outcome::Served | Outcome::Cancelled | Outcome::CacheHit | Outcome::Stale => {
                let detail = self.detail();
                tracing::info!(request_id, route, target, attempts = sent, outcome = name, stream, latency_ms, duration_ms, %detail, "request");
            }
            _ => {
                self.span.record("otel.status_code", "ERROR");
                let detail = self.detail();
                tracing::warn!(request_id, route, target, attempts = sent, outcome = name, stream, latency_ms, duration_ms, %detail, "request");
            }
        }
    }

    /// The attempts, then the streams that broke.
    fn detail(&self) -> String {
        let mut detail = outcome::summary(&self.attempts);
        for (target, kind) in &self.broken {
            detail.push_str(&format!(" {target}: the stream broke ({kind})."));
        }
        detail
    }
}

impl Drop for RequestRecord {
    /// An unfinished record is a request whose client went away.
    fn drop(&mut self) {
        self.settle(Outcome::Cancelled);
    }
}
