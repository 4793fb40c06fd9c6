//! Counters of what a retry policy did, kept with atomics.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a retry policy's counters since it was built.
///
/// Every finished call ends in exactly one of `succeeded_first`,
/// `succeeded_after_retry`, `exhausted`, `not_retryable`, `budget_exhausted`
/// and `retry_after_too_long`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryStats {
    /// Calls started.
    pub calls: u64,
    /// Attempts made, first attempts included.
    pub attempts: u64,
    /// Retries made (attempts after the first).
    pub retries: u64,
    /// Calls that succeeded at the first attempt.
    pub succeeded_first: u64,
    /// Calls that succeeded after one or more retries.
    pub succeeded_after_retry: u64,
    /// Calls whose last allowed attempt failed.
    pub exhausted: u64,
    /// Calls that ended on a failure the predicate does not retry.
    pub not_retryable: u64,
    /// Calls that ended because the retry budget was spent.
    pub budget_exhausted: u64,
    /// Calls that ended because the target asked to wait longer than `max_retry_after`.
    pub retry_after_too_long: u64,
}

/// How a call ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Succeeded { retried: bool },
    Exhausted,
    NotRetryable,
    BudgetExhausted,
    RetryAfterTooLong,
}

/// The live counters behind [`RetryStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    calls: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    succeeded_first: AtomicU64,
    succeeded_after_retry: AtomicU64,
    exhausted: AtomicU64,
    not_retryable: AtomicU64,
    budget_exhausted: AtomicU64,
    retry_after_too_long: AtomicU64,
}

impl Counters {
    pub(crate) fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn attempt(&self, retry: bool) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        if retry {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn end(&self, ending: Ending) {
        let counter = match ending {
            Ending::Succeeded { retried: false } => &self.succeeded_first,
            Ending::Succeeded { retried: true } => &self.succeeded_after_retry,
            Ending::Exhausted => &self.exhausted,
            Ending::NotRetryable => &self.not_retryable,
            Ending::BudgetExhausted => &self.budget_exhausted,
            Ending::RetryAfterTooLong => &self.retry_after_too_long,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RetryStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RetryStats {
            calls: load(&self.calls),
            attempts: load(&self.attempts),
            retries: load(&self.retries),
            succeeded_first: load(&self.succeeded_first),
            succeeded_after_retry: load(&self.succeeded_after_retry),
            exhausted: load(&self.exhausted),
            not_retryable: load(&self.not_retryable),
            budget_exhausted: load(&self.budget_exhausted),
            retry_after_too_long: load(&self.retry_after_too_long),
        }
    }
}
