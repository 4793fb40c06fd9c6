//! Retry passes over a fallback strategy: the strategy runs over every
//! target; if it ends without its answer, the targets whose failure the
//! policy retries run again, in a later pass, after a backoff.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::same_target::{Retry, SameTarget, Spot};
use super::stats::Ending;
use super::{RetryPolicy, Shared};
use crate::classify::AsFailure;
use crate::events::Event;
use crate::fallback::{AttemptInfo, AttemptOutcome, Fallback, PassOutcome, Scope, Target};
use crate::{Failure, FailureKind};

impl RetryPolicy {
    /// Runs `strategy` over the targets of `scope` in passes: the first
    /// over all of them; each later one, after a backoff, over the targets
    /// whose last failure this policy retries (and those passed over with a
    /// reason [tried again](crate::fallback::SkipReason::tried_again), such
    /// as a full queue). Every target is called at most `max_attempts` times
    /// in all; each later pass takes one retry from the budget; the wait
    /// before a pass is the backoff, or longer until the first of its targets'
    /// retry-after is over; no pass starts that the scope's deadline would
    /// cut, and the deadline ends a pass running (its calls in flight are
    /// timeouts). A failure asking to wait longer than `max_retry_after`
    /// leaves its target out of later passes.
    ///
    /// With [`same_target`](super::RetryBuilder::same_target), a failure
    /// that says "try again soon" (overloaded or transient, or rate-limited
    /// with a retry-after, within the given wait) is retried on its target at
    /// once, before the strategy moves on; if the target passes the retry
    /// over, the first failure stands.
    ///
    /// The report holds the attempts of every pass, in order, and ends with
    /// the last pass's answer or reason; a failure not fallen back on, or the
    /// deadline, ends the passes at once.
    /// [`RetryPolicy::stats`] counts one call per run of passes and one
    /// attempt per pass.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    /// use steadfast::fallback::{Scope, Sequential};
    /// use steadfast::retry::{Backoff, RetryPolicy};
    /// use steadfast::{Failure, FailureKind};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let models: [Arc<str>; 2] = ["a".into(), "b".into()];
    /// let retry = RetryPolicy::builder()
    ///     .max_attempts(2)
    ///     .backoff(Backoff::constant(Duration::from_millis(1)))
    ///     .build();
    /// let calls = AtomicU32::new(0);
    /// let answer = retry
    ///     .passes(&Sequential::new(), Scope::all(), &models, |model, _| {
    ///         let call = calls.fetch_add(1, Ordering::Relaxed);
    ///         let model = model.clone();
    ///         async move {
    ///             // Both overloaded in the first pass; "b" answers in the second.
    ///             if call < 2 || &*model == "a" {
    ///                 Err(Failure::new(FailureKind::Overloaded))
    ///             } else {
    ///                 Ok(model)
    ///             }
    ///         }
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(&*answer.value, "b");
    /// assert_eq!(answer.attempts.len(), 4);
    /// # }
    /// ```
    pub async fn passes<S, T, R, E, F, Fut>(
        &self,
        strategy: &S,
        scope: Scope<'_>,
        targets: &[T],
        call: F,
    ) -> S::Outcome<R, E>
    where
        S: Fallback,
        T: Target,
        E: AsFailure,
        F: Fn(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let (policy, shared) = (&self.shared, &*self.shared);
        shared.counters.call();
        if let Some(budget) = &shared.budget {
            budget.deposit();
        }
        let mut calls = vec![0u32; targets.len()];
        // Failures retried on the spot, reported before their pass's attempts.
        let retried = (shared.same_target).map(|_| Arc::new(Mutex::new(Vec::new())));
        let mut last: Vec<Option<Failure>> = vec![None; targets.len()];
        let mut included: Vec<bool> = (0..targets.len()).map(|i| scope.includes(i)).collect();
        let mut backoff = Duration::ZERO;
        let mut report: Option<S::Outcome<R, E>> = None;
        let mut pass = 0;
        loop {
            shared.counters.attempt(pass > 0);
            let in_pass = Scope::all().only(&included);
            let in_pass = scope.deadline().map_or(in_pass, |at| in_pass.until(at));
            let spot = |target: &T, info: AttemptInfo| {
                let info = AttemptInfo { pass, ..info };
                let first = call(target, info);
                let retry = retried.as_ref().map(|retried| {
                    let spot = Spot {
                        name: target.name().clone(),
                        index: info.index,
                        calls: calls[info.index] + 1,
                        deadline: scope.deadline(),
                        retried: Arc::clone(retried),
                    };
                    Retry::new(Arc::clone(policy), spot, call(target, info))
                });
                SameTarget::new(first, retry)
            };
            let mut outcome = strategy.run_in(in_pass, targets, spot).await;
            if let Some(Ok(mut on_the_spot)) = retried.as_ref().map(|r| r.lock()) {
                outcome.prepend(std::mem::take(&mut *on_the_spot));
            }
            for attempt in outcome.attempts() {
                calls[attempt.index] += u32::from(attempt.outcome.was_called());
                match attempt.outcome {
                    AttemptOutcome::Failed(failure) => last[attempt.index] = Some(failure),
                    AttemptOutcome::Skipped(reason) if reason.tried_again() => {
                        last[attempt.index] = Some(Failure::new(FailureKind::Overloaded));
                    }
                    _ => {}
                }
            }
            if let Some(earlier) = report.take() {
                outcome.follow(earlier);
            }
            if outcome.is_final() {
                shared.counters.end(match outcome.answered() {
                    true => Ending::Succeeded { retried: pass > 0 },
                    false => Ending::NotRetryable,
                });
                return outcome;
            }
            pass += 1;
            for (index, included) in included.iter_mut().enumerate() {
                *included = scope.includes(index)
                    && calls[index] < shared.max_attempts
                    && last[index].is_some_and(|failure| shared.retries(&failure));
            }
            let waiting: Vec<Failure> = (0..targets.len())
                .filter(|&index| included[index])
                .filter_map(|index| last[index])
                .collect();
            match shared.before_pass(pass, &mut backoff, &waiting, scope.deadline()) {
                Ok(wait) => tokio::time::sleep(wait).await,
                Err(ending) => {
                    shared.counters.end(ending);
                    return outcome;
                }
            }
            report = Some(outcome);
        }
    }
}

impl Shared {
    /// Whether a later pass tries a target again after `failure`.
    fn retries(&self, failure: &Failure) -> bool {
        self.predicate.allows(failure)
            && match (failure.retry_after, self.max_retry_after) {
                (Some(asked), Some(max)) => asked <= max,
                _ => true,
            }
    }

    /// The wait before pass `pass` (counting from 0) of targets whose last
    /// failures are `waiting`, or why no pass follows. Takes the retry from
    /// the budget and publishes one `RetryScheduled` per target.
    fn before_pass(
        &self,
        pass: u32,
        backoff: &mut Duration,
        waiting: &[Failure],
        deadline: Option<Instant>,
    ) -> Result<Duration, Ending> {
        if pass >= self.max_attempts || waiting.is_empty() {
            return Err(Ending::Exhausted);
        }
        if let Some(budget) = &self.budget {
            if !budget.try_withdraw() {
                self.events.emit(Event::RetryBudgetExhausted {
                    name: self.name.clone(),
                });
                return Err(Ending::BudgetExhausted);
            }
        }
        *backoff = self.backoff.delay(pass, *backoff, &self.rng);
        let first_ready = waiting
            .iter()
            .map(|failure| failure.retry_after.unwrap_or_default())
            .min()
            .unwrap_or_default();
        let wait = (*backoff).max(first_ready);
        if deadline.is_some_and(|deadline| Instant::now() + wait >= deadline) {
            return Err(Ending::Exhausted);
        }
        for &failure in waiting {
            self.retry_scheduled(pass, wait, failure);
        }
        Ok(wait)
    }

    /// Publishes a retry after `failure`, in `delay`.
    pub(super) fn retry_scheduled(&self, attempt: u32, delay: Duration, failure: Failure) {
        self.events.emit(Event::RetryScheduled {
            name: self.name.clone(),
            attempt,
            delay,
            failure,
        });
    }
}
