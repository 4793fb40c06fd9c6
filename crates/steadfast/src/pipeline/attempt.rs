//! The stages run, outermost first: deadline, retry, then per attempt breaker,
//! rate limit, bulkhead, timeout, fault injection and the call.

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::Stages;
use crate::classify::Classify;
use crate::events::Event;
use crate::timeout::{Elapsed, TimeoutScope};
use crate::{BoxError, Error, Failure, Outcome};

/// The result of one attempt and the verdict on it: a classifier may judge an
/// `Ok` a failure (and retry it), or an `Err` a success.
pub(super) struct Judged<T> {
    result: Result<T, Error>,
    outcome: Outcome,
}

impl<T> Judged<T> {
    /// An attempt stopped by a stage, judged by [`Error::failure`].
    fn failed(error: impl Into<Error>) -> Judged<T> {
        let error = error.into();
        Judged {
            outcome: Outcome::Failure(error.failure()),
            result: Err(error),
        }
    }
}

/// The retry policy's classifier: the verdict already reached in the attempt.
fn verdict<T>(judged: &Result<Judged<T>, Infallible>) -> Outcome {
    match judged {
        Ok(judged) => judged.outcome,
        Err(never) => match *never {},
    }
}

impl Stages {
    /// The whole operation, bounded by the deadline if there is one.
    pub(super) async fn run<T, E, C, F, Fut>(&self, classifier: &C, op: F) -> Result<T, Error>
    where
        C: Classify<T, E>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<BoxError>,
    {
        let Some(limit) = self.deadline else {
            return self.attempts(classifier, op).await;
        };
        // `timeout` rather than `Deadline::run`: the attempts' future is large,
        // and every wrapper moves it once more.
        tokio::time::timeout(limit, self.attempts(classifier, op))
            .await
            .unwrap_or_else(|_| Err(self.timed_out(TimeoutScope::Overall, limit)))
    }

    /// The error of a stage that ran out of time; emits [`Event::TimedOut`].
    fn timed_out(&self, scope: TimeoutScope, after: Duration) -> Error {
        self.events.emit(Event::TimedOut {
            name: self.name.clone(),
            after,
        });
        Error::Timeout(Elapsed { scope, after })
    }

    /// One attempt, or as many as the retry policy allows.
    async fn attempts<T, E, C, F, Fut>(&self, classifier: &C, mut op: F) -> Result<T, Error>
    where
        C: Classify<T, E>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<BoxError>,
    {
        let Some(retry) = &self.retry else {
            return self.attempt(classifier, op).await.result;
        };
        // Each attempt's future borrows `op` only while calling it (never
        // across an await), so attempts share it behind an uncontended lock.
        let op = Mutex::new(&mut op);
        let call = || (*op.lock().unwrap_or_else(PoisonError::into_inner))();
        let call = &call;
        let judged = retry
            .call_classified(&verdict, move || async move {
                Ok::<_, Infallible>(self.attempt(classifier, call).await)
            })
            .await;
        judged.and_then(|judged| judged.result)
    }

    /// One attempt through the circuit breaker: an open breaker refuses it,
    /// and its verdict is recorded (local rejections further in as ignored).
    async fn attempt<T, E, C, G, Fut>(&self, classifier: &C, op: G) -> Judged<T>
    where
        C: Classify<T, E>,
        G: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<BoxError>,
    {
        let permit = match &self.breaker {
            Some(breaker) => match breaker.try_acquire() {
                Ok(permit) => Some(permit),
                Err(open) => return Judged::failed(open),
            },
            None => None,
        };
        let judged = self.admitted(classifier, op).await;
        if let Some(permit) = permit {
            permit.settle(&judged.result, judged.outcome);
        }
        judged
    }

    /// One attempt past the rate limit, in a bulkhead slot, within the
    /// per-attempt timeout.
    async fn admitted<T, E, C, G, Fut>(&self, classifier: &C, op: G) -> Judged<T>
    where
        C: Classify<T, E>,
        G: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<BoxError>,
    {
        if let Some(rate_limit) = &self.rate_limit {
            if let Err(exceeded) = rate_limit.check(1) {
                return Judged::failed(exceeded);
            }
        }
        let _slot = match &self.bulkhead {
            Some(bulkhead) => match bulkhead.acquire().await {
                Ok(slot) => Some(slot),
                Err(full) => return Judged::failed(full),
            },
            None => None,
        };
        match self.timeout {
            Some(after) => tokio::time::timeout(after, self.invoke(classifier, op))
                .await
                .unwrap_or_else(|_| Judged::failed(self.timed_out(TimeoutScope::Attempt, after))),
            None => self.invoke(classifier, op).await,
        }
    }

    /// Injects a fault, if any, else makes the call and judges it.
    async fn invoke<T, E, C, G, Fut>(&self, classifier: &C, op: G) -> Judged<T>
    where
        C: Classify<T, E>,
        G: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<BoxError>,
    {
        if let Some(fault) = &self.fault {
            if let Err(injected) = fault.inject().await {
                return Judged::failed(injected);
            }
        }
        let result = op().await;
        let outcome = classifier.classify(&result);
        let failure = outcome.failure().unwrap_or_else(Failure::transient);
        Judged {
            result: result.map_err(|error| Error::from_boxed(error.into(), failure)),
            outcome,
        }
    }
}
