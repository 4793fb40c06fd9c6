//! The retry predicate and the builder of [`RetryPolicy`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{Backoff, RetryPolicy, Shared};
use crate::budget::Budget;
use crate::events::Events;
use crate::rng::Rng;
use crate::{Failure, FailureKind};

/// Which failures are worth another attempt.
#[derive(Clone)]
pub enum RetryPredicate {
    /// Retry exactly these kinds.
    Kinds(Vec<FailureKind>),
    /// Ask a closure.
    Custom(Arc<dyn Fn(&Failure) -> bool + Send + Sync>),
}

impl RetryPredicate {
    /// Whether `failure` may be retried.
    pub fn allows(&self, failure: &Failure) -> bool {
        match self {
            RetryPredicate::Kinds(kinds) => kinds.contains(&failure.kind),
            RetryPredicate::Custom(predicate) => predicate(failure),
        }
    }
}

impl Default for RetryPredicate {
    /// The [retryable](FailureKind::is_retryable) kinds.
    fn default() -> RetryPredicate {
        RetryPredicate::Kinds(
            FailureKind::ALL
                .into_iter()
                .filter(|kind| kind.is_retryable())
                .collect(),
        )
    }
}

impl fmt::Debug for RetryPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryPredicate::Kinds(kinds) => f.debug_tuple("Kinds").field(kinds).finish(),
            RetryPredicate::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Builds a [`RetryPolicy`]. Defaults: name `"retry"`, 3 attempts,
/// [`Backoff::default`], no budget, the default [`RetryPredicate`], no cap on
/// retry-after, [`Events::none`], an entropy-seeded random source.
#[derive(Debug)]
pub struct RetryBuilder {
    name: Arc<str>,
    max_attempts: u32,
    backoff: Backoff,
    budget: Option<Budget>,
    predicate: RetryPredicate,
    max_retry_after: Option<Duration>,
    same_target: Option<Duration>,
    events: Events,
    rng: Option<Rng>,
}

/// The longest retry-after a [`RetryPolicy`] waits by default (5 s): a
/// target, or an open breaker whose remaining open time is its retry-after,
/// asking for longer ends the call at once with that failure, rather than
/// holding the caller for up to a breaker's whole open time.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

impl Default for RetryBuilder {
    fn default() -> RetryBuilder {
        RetryBuilder {
            name: "retry".into(),
            max_attempts: 3,
            backoff: Backoff::default(),
            budget: None,
            predicate: RetryPredicate::default(),
            max_retry_after: Some(DEFAULT_MAX_RETRY_AFTER),
            same_target: None,
            events: Events::none(),
            rng: None,
        }
    }
}

impl RetryBuilder {
    /// The name used in events and metrics.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> RetryBuilder {
        self.name = name.into();
        self
    }

    /// Total attempts, the first included (at least 1).
    pub fn max_attempts(mut self, max_attempts: u32) -> RetryBuilder {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// The wait between attempts.
    pub fn backoff(mut self, backoff: Backoff) -> RetryBuilder {
        self.backoff = backoff;
        self
    }

    /// A budget that every call deposits into and every retry withdraws from.
    pub fn budget(mut self, budget: Budget) -> RetryBuilder {
        self.budget = Some(budget);
        self
    }

    /// Retry only failures of these kinds.
    pub fn retry_on(mut self, kinds: impl IntoIterator<Item = FailureKind>) -> RetryBuilder {
        self.predicate = RetryPredicate::Kinds(kinds.into_iter().collect());
        self
    }

    /// Retry the failures for which `predicate` says `true`.
    pub fn retry_if(
        mut self,
        predicate: impl Fn(&Failure) -> bool + Send + Sync + 'static,
    ) -> RetryBuilder {
        self.predicate = RetryPredicate::Custom(Arc::new(predicate));
        self
    }

    /// Give up at once, instead of waiting, when the target asks to wait longer
    /// than this (so a fallback can move on to another target). Default
    /// [`DEFAULT_MAX_RETRY_AFTER`]; `Duration::MAX` waits as long as asked.
    pub fn max_retry_after(mut self, max: Duration) -> RetryBuilder {
        self.max_retry_after = Some(max);
        self
    }

    /// In [`RetryPolicy::passes`], retry a target at once, before the
    /// strategy moves on, when its failure says "try again soon": overloaded
    /// or transient (after the backoff's first delay, or its retry-after), or
    /// rate-limited with a retry-after; never waiting longer than `max_wait`.
    /// Default: off (a failed target waits for the next pass). The retry's
    /// call is made with the first (its future created, not polled) and
    /// dropped unpolled when not needed: a call closure should do its work
    /// in the future it returns.
    pub fn same_target(mut self, max_wait: Duration) -> RetryBuilder {
        self.same_target = Some(max_wait);
        self
    }

    /// The bus to publish retry events into.
    pub fn events(mut self, events: Events) -> RetryBuilder {
        self.events = events;
        self
    }

    /// Seeds the jitter's random source, for reproducible delays.
    pub fn seed(mut self, seed: u64) -> RetryBuilder {
        self.rng = Some(Rng::with_seed(seed));
        self
    }

    /// Builds the policy.
    pub fn build(self) -> RetryPolicy {
        RetryPolicy {
            shared: Arc::new(Shared {
                name: self.name,
                max_attempts: self.max_attempts,
                backoff: self.backoff,
                budget: self.budget,
                predicate: self.predicate,
                max_retry_after: self.max_retry_after,
                same_target: self.same_target,
                events: self.events,
                rng: self.rng.unwrap_or_default(),
                counters: Default::default(),
            }),
        }
    }
}
