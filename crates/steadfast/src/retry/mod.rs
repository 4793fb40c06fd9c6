//! Retry: run a call again when it fails in a way worth retrying.
//!
//! A [`RetryPolicy`] makes at most `max_attempts` attempts, waits a
//! [`Backoff`] between them, retries only failures its [`RetryPredicate`]
//! allows (by default the [retryable](crate::FailureKind::is_retryable) kinds),
//! and takes every retry from an optional [`Budget`] so retries never become a
//! storm.
//!
//! - **Retry-after is honoured**: the wait before the next attempt is
//!   `max(backoff delay, failure.retry_after)`, never earlier than the target
//!   asked. When the target asks for longer than `max_retry_after` (default
//!   [`DEFAULT_MAX_RETRY_AFTER`], 5 s), the call gives up at once with that
//!   failure, so a fallback can move on.
//! - **Local rejections** are judged like any failure, by
//!   [`Error::failure`]: an open breaker ([`Error::BreakerOpen`]) and a full
//!   bulkhead are `Overloaded`, a local rate limit is `RateLimited`. An open
//!   breaker's `retry_after` is its remaining open time, so with the default
//!   predicate the retry waits until the breaker lets a probe through if that
//!   is within `max_retry_after`, and gives up at once otherwise (a breaker
//!   open for 30 s does not hold the caller for 30 s). A forced-open breaker gives no
//!   retry-after and is retried on the backoff alone; exclude `Overloaded` with
//!   [`RetryBuilder::retry_on`] if that is not wanted.
//! - The result of the last attempt is returned; an `Ok` judged a failure by a
//!   classifier is returned as `Ok` when retries run out.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::retry::{Backoff, RetryPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let retry = RetryPolicy::builder()
//!     .max_attempts(3)
//!     .backoff(Backoff::constant(Duration::from_millis(1)))
//!     .build();
//! let mut calls = 0;
//! let answer = retry
//!     .call(|| {
//!         calls += 1;
//!         let attempt = calls;
//!         async move { if attempt < 3 { Err("flaky") } else { Ok(attempt) } }
//!     })
//!     .await;
//! assert_eq!(answer.ok(), Some(3));
//! # }
//! ```

mod backoff;
mod batch;
mod layer;
mod passes;
mod policy;
mod same_target;
mod stats;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use backoff::{Backoff, BackoffKind, Jitter};
pub use layer::{ResponseFuture, RetryLayer, RetryService};
pub use policy::{DEFAULT_MAX_RETRY_AFTER, RetryBuilder, RetryPredicate};
pub use stats::RetryStats;

use stats::{Counters, Ending};

use crate::budget::Budget;
use crate::classify::{AsFailure, ByFailure, Classify};
use crate::events::{Event, Events};
use crate::rng::Rng;
use crate::{BoxError, Error, Failure, Outcome};

/// A retry policy. Cheap to clone; clones share configuration and statistics.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    name: Arc<str>,
    max_attempts: u32,
    backoff: Backoff,
    budget: Option<Budget>,
    predicate: RetryPredicate,
    max_retry_after: Option<Duration>,
    same_target: Option<Duration>,
    events: Events,
    rng: Rng,
    counters: Counters,
}

/// What to do after a failed attempt.
enum Decision {
    Retry(Duration),
    Stop(Ending),
}

impl RetryPolicy {
    /// A builder with the defaults listed on [`RetryBuilder`].
    pub fn builder() -> RetryBuilder {
        RetryBuilder::default()
    }

    /// The policy's name.
    pub fn name(&self) -> &Arc<str> {
        &self.shared.name
    }

    /// The counters since the policy was built.
    pub fn stats(&self) -> RetryStats {
        self.shared.counters.snapshot()
    }

    /// Runs `op` once per attempt until it succeeds, fails in a way not worth
    /// retrying, or attempts, budget or patience run out. Errors are judged by
    /// their own [`AsFailure`] answer.
    pub async fn call<T, E, F, Fut>(&self, mut op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        self.call_classified(&ByFailure, move || {
            let attempt = op();
            async move { attempt.await.map_err(Error::judged) }
        })
        .await
    }

    /// Like [`RetryPolicy::call`], with `classifier` judging each result.
    pub async fn call_classified<T, E, C, F, Fut>(
        &self,
        classifier: &C,
        mut op: F,
    ) -> Result<T, Error>
    where
        C: Classify<T, E>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        let shared = &*self.shared;
        shared.counters.call();
        if let Some(budget) = &shared.budget {
            budget.deposit();
        }
        let mut attempt: u32 = 1;
        let mut previous = Duration::ZERO;
        loop {
            shared.counters.attempt(attempt > 1);
            let result = op().await;
            let outcome = classifier.classify(&result);
            let result = result.map_err(|e| {
                Error::from_boxed(e.into(), outcome.failure().unwrap_or(Failure::transient()))
            });
            let failure = match outcome {
                Outcome::Success => {
                    shared.counters.end(Ending::Succeeded {
                        retried: attempt > 1,
                    });
                    return result;
                }
                Outcome::Failure(failure) => failure,
            };
            match shared.decide(attempt, previous, &failure) {
                Decision::Stop(ending) => {
                    shared.counters.end(ending);
                    return result;
                }
                Decision::Retry(backoff) => {
                    drop(result);
                    let delay = backoff.max(failure.retry_after.unwrap_or_default());
                    shared.events.emit(Event::RetryScheduled {
                        name: shared.name.clone(),
                        attempt,
                        delay,
                        failure,
                    });
                    tracing::debug!(name = %shared.name, attempt, ?delay, %failure, "retry scheduled");
                    tokio::time::sleep(delay).await;
                    previous = backoff;
                    attempt = attempt.saturating_add(1);
                }
            }
        }
    }
}

impl Shared {
    /// Whether to retry after attempt `attempt` failed with `failure`, and the
    /// backoff delay (before retry-after) if so.
    fn decide(&self, attempt: u32, previous: Duration, failure: &Failure) -> Decision {
        if !self.predicate.allows(failure) {
            return Decision::Stop(Ending::NotRetryable);
        }
        if attempt >= self.max_attempts {
            self.events.emit(Event::RetriesExhausted {
                name: self.name.clone(),
                attempts: attempt,
                failure: *failure,
            });
            return Decision::Stop(Ending::Exhausted);
        }
        if let (Some(asked), Some(max)) = (failure.retry_after, self.max_retry_after) {
            if asked > max {
                tracing::debug!(name = %self.name, ?asked, ?max, "retry-after too long, giving up");
                return Decision::Stop(Ending::RetryAfterTooLong);
            }
        }
        if let Some(budget) = &self.budget {
            if !budget.try_withdraw() {
                self.events.emit(Event::RetryBudgetExhausted {
                    name: self.name.clone(),
                });
                return Decision::Stop(Ending::BudgetExhausted);
            }
        }
        Decision::Retry(self.backoff.delay(attempt, previous, &self.rng))
    }
}
