//! A target's call in a retry pass, and with `same_target`, its retry at
//! once when the failure says "try again soon".
//!
//! A named future owning what it shares (no borrowed lifetime), rather than
//! an async block or a struct borrowing the passes' state: such a future,
//! made in the closure a strategy calls, is one rustc cannot prove `Send` for
//! a caller whose own closure borrows its locals ("one type is more general
//! than the other", the gateway's stream resumption).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::Shared;
use crate::classify::AsFailure;
use crate::fallback::{Attempt, AttemptOutcome};
use crate::{Failure, FailureKind};

/// A call of one target in a pass, as a retry on the spot needs it.
pub(super) struct Spot {
    pub(super) name: Arc<str>,
    pub(super) index: usize,
    /// Calls made on the target, this one included.
    pub(super) calls: u32,
    pub(super) deadline: Option<Instant>,
    /// Where a failure retried on the spot is reported.
    pub(super) retried: Arc<Mutex<Vec<Attempt>>>,
}

pin_project! {
    /// The call of a target and, with `same_target`, its [`Retry`] on the
    /// spot. Without `same_target` it is the call alone: nothing else is made
    /// and polling passes straight through.
    pub(super) struct SameTarget<Fut, R, E> {
        #[pin]
        call: Fut,
        retry: Option<Retry<Fut, R, E>>,
    }
}

impl<Fut, R, E> SameTarget<Fut, R, E> {
    /// The call `call`, retried on the spot by `retry` if given.
    pub(super) fn new(call: Fut, retry: Option<Retry<Fut, R, E>>) -> SameTarget<Fut, R, E> {
        SameTarget { call, retry }
    }
}

/// A retry on the spot: `again` (the same call, made with the first and
/// not yet polled) is polled once the first call's failure says "try again
/// soon" and the wait is over; the first failure is then reported among the
/// retried ones, or stands if the target passes the retry over. The retry,
/// its wait and the first result are boxed, so the call's future keeps its
/// size.
pub(super) struct Retry<Fut, R, E> {
    policy: Arc<Shared>,
    spot: Spot,
    again: Pin<Box<Fut>>,
    started: Instant,
    wait: Option<Pin<Box<Sleep>>>,
    /// The first call's result, while the retry waits and runs.
    first: Option<Box<FirstCall<R, E>>>,
}

/// A first call that failed: its result, failure and time.
type FirstCall<R, E> = (Result<R, E>, Failure, Duration);

impl<Fut, R, E> Retry<Fut, R, E> {
    /// A retry of the call at `spot` by `again`, under `policy`.
    pub(super) fn new(policy: Arc<Shared>, spot: Spot, again: Fut) -> Retry<Fut, R, E> {
        Retry {
            policy,
            spot,
            again: Box::pin(again),
            started: Instant::now(),
            wait: None,
            first: None,
        }
    }
}

impl<Fut, R, E> Future for SameTarget<Fut, R, E>
where
    Fut: Future<Output = Result<R, E>>,
    E: AsFailure,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R, E>> {
        let mut this = self.project();
        let Some(retry) = this.retry.as_mut() else {
            return this.call.poll(cx);
        };
        loop {
            if let Some(wait) = &mut retry.wait {
                ready!(wait.as_mut().poll(cx));
                retry.wait = None;
            }
            let result = match retry.first.is_some() {
                true => ready!(retry.again.as_mut().poll(cx)),
                false => ready!(this.call.as_mut().poll(cx)),
            };
            let passed_over = matches!(&result, Err(error) if error.passed_over().is_some());
            if let Some(first) = retry.first.take() {
                // The retry ended: a target passing it over leaves the first
                // failure standing.
                let (first, failure, elapsed) = *first;
                if passed_over {
                    return Poll::Ready(first);
                }
                if let Ok(mut retried) = retry.spot.retried.lock() {
                    retried.push(Attempt {
                        target: retry.spot.name.clone(),
                        index: retry.spot.index,
                        outcome: AttemptOutcome::Failed(failure),
                        elapsed,
                    });
                }
                return Poll::Ready(result);
            }
            let failure = match (&result, passed_over) {
                (Err(error), false) => error.as_failure(),
                _ => return Poll::Ready(result),
            };
            let spot = &retry.spot;
            let Some(wait) = (retry.policy).same_target_wait(&failure, spot.calls, spot.deadline)
            else {
                return Poll::Ready(result);
            };
            retry.policy.retry_scheduled(1, wait, failure);
            retry.first = Some(Box::new((result, failure, retry.started.elapsed())));
            retry.wait = Some(Box::pin(tokio::time::sleep(wait)));
        }
    }
}

impl Shared {
    /// How long to wait before calling a target again at once after
    /// `failure`, with `calls` made on it; `None` when not worth it (no
    /// `same_target`, not "soon", no attempt or budget left, past the deadline).
    fn same_target_wait(
        &self,
        failure: &Failure,
        calls: u32,
        deadline: Option<Instant>,
    ) -> Option<Duration> {
        let max_wait = self.same_target?;
        if calls >= self.max_attempts {
            return None;
        }
        let wait = match (failure.kind, failure.retry_after) {
            (
                FailureKind::RateLimited | FailureKind::Overloaded | FailureKind::Transient,
                Some(after),
            ) => (after <= max_wait).then_some(after)?,
            (FailureKind::Overloaded | FailureKind::Transient, None) => {
                self.backoff.delay(1, Duration::ZERO, &self.rng)
            }
            _ => return None,
        };
        if deadline.is_some_and(|deadline| Instant::now() + wait >= deadline) {
            return None;
        }
        if let Some(budget) = &self.budget {
            if !budget.try_withdraw() {
                return None;
            }
        }
        Some(wait)
    }
}
