//! The one error type at the boundary of every policy ([`Error`]) and tower's
//! type-erased error ([`BoxError`]); both are re-exported at the crate root,
//! their only path. The small typed rejections an [`Error`] carries live with
//! their policies.
//!
//! Users `match` on [`Error`] to learn what kind of failure it was; every
//! variant answers [`Error::failure`] (its [`FailureKind`] and retry-after hint)
//! and [`Error::is_retryable`].

use crate::adaptive::LimitReached;
use crate::breaker::BreakerOpen;
use crate::bulkhead::BulkheadFull;
use crate::classify::AsFailure;
use crate::fault::InjectedFault;
use crate::rate_limit::RateLimitExceeded;
use crate::timeout::Elapsed;
use crate::{Failure, FailureKind, SkipReason};

/// A type-erased error, as tower uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a policy stopped a call, or how the call itself failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The call ran and failed; `failure` is how the classifier judged it.
    /// Its message names the verdict only: the call's own error is its
    /// [`source`](std::error::Error::source), so a printed chain
    /// (`anyhow`'s `{:#}`, `tracing`'s error fields) shows it once.
    #[error("call failed ({failure})")]
    Call {
        /// The call's own error.
        source: BoxError,
        /// The classifier's verdict on it.
        failure: Failure,
    },
    /// A circuit breaker refused the call without running it.
    #[error(transparent)]
    BreakerOpen(#[from] BreakerOpen),
    /// A bulkhead had no room for the call.
    #[error(transparent)]
    BulkheadFull(#[from] BulkheadFull),
    /// An adaptive concurrency limit had no room for the call.
    #[error(transparent)]
    LimitReached(#[from] LimitReached),
    /// A local rate limiter refused the call.
    #[error(transparent)]
    RateLimited(#[from] RateLimitExceeded),
    /// The call, or the whole operation, ran out of time.
    #[error(transparent)]
    Timeout(#[from] Elapsed),
    /// The fault-injection policy failed the call on purpose.
    #[error(transparent)]
    Injected(#[from] InjectedFault),
}

impl Error {
    /// Wraps a call's own error with the classifier's verdict.
    pub fn call(source: impl Into<BoxError>, failure: Failure) -> Error {
        Error::Call {
            source: source.into(),
            failure,
        }
    }

    /// A call's own error, judged by its own [`AsFailure`] answer: one of
    /// ours passes through unchanged (so stacked layers never nest).
    pub fn judged<E: AsFailure + Into<BoxError>>(error: E) -> Error {
        let failure = error.as_failure();
        Error::from_boxed(error.into(), failure)
    }

    /// Turns a type-erased error back into an [`Error`]: one of ours passes
    /// through unchanged (so stacked layers never nest), anything else is wrapped
    /// as a call failure of `failure`.
    pub fn from_boxed(error: BoxError, failure: Failure) -> Error {
        match error.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => Error::call(other, failure),
        }
    }

    /// What kind of failure this is, and when it may be tried again.
    pub fn failure(&self) -> Failure {
        match self {
            Error::Call { failure, .. } => *failure,
            Error::BreakerOpen(open) => {
                Failure::with_retry_after(FailureKind::Overloaded, open.retry_after)
            }
            Error::BulkheadFull(_) | Error::LimitReached(_) => {
                Failure::new(FailureKind::Overloaded)
            }
            Error::RateLimited(limited) => Failure::rate_limited(Some(limited.retry_after)),
            Error::Timeout(_) => Failure::timeout(),
            Error::Injected(fault) => fault.failure,
        }
    }

    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        self.failure().kind.is_retryable()
    }

    /// Whether a policy of this process refused the call before it reached the
    /// target (open breaker, full bulkhead or adaptive limit, local rate limit). Such rejections
    /// say nothing about the target's health and are not counted against it.
    pub fn is_local_rejection(&self) -> bool {
        matches!(
            self,
            Error::BreakerOpen(_)
                | Error::BulkheadFull(_)
                | Error::LimitReached(_)
                | Error::RateLimited(_)
        )
    }

    /// The call's own error, if the call ran and failed.
    pub fn call_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            Error::Call { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }

    /// Downcasts the call's own error to `E`.
    pub fn downcast_call_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.call_error()
            .and_then(|error| error.downcast_ref::<E>())
    }
}

impl AsFailure for Error {
    fn as_failure(&self) -> Failure {
        self.failure()
    }

    /// A local rejection (an open breaker, a full bulkhead or adaptive limit, a local rate
    /// limit) passes the target over: nothing was sent to it.
    fn passed_over(&self) -> Option<SkipReason> {
        match self {
            Error::BreakerOpen(_) => Some(SkipReason::BREAKER_OPEN),
            Error::BulkheadFull(_) | Error::LimitReached(_) => Some(SkipReason::BUSY),
            Error::RateLimited(_) => Some(SkipReason::RATE_LIMITED),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bulkhead::BulkheadRejection;
    use crate::timeout::TimeoutScope;

    #[test]
    fn boxed_errors_of_ours_do_not_nest() {
        let inner = Error::Timeout(Elapsed {
            scope: TimeoutScope::Attempt,
            after: Duration::from_secs(1),
        });
        let boxed: BoxError = Box::new(inner);
        let back = Error::from_boxed(boxed, Failure::transient());
        assert!(matches!(back, Error::Timeout(_)));
        assert_eq!(back.failure().kind, FailureKind::Timeout);
    }

    #[test]
    fn foreign_errors_are_wrapped_with_their_verdict() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = Error::from_boxed(Box::new(io), Failure::transient());
        assert!(error.is_retryable());
        assert!(!error.is_local_rejection());
        assert_eq!(
            error
                .downcast_call_error::<std::io::Error>()
                .map(|e| e.kind()),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
    }

    #[test]
    fn rejections_say_what_and_when() {
        let open = Error::from(BreakerOpen {
            name: "gpt".into(),
            retry_after: Some(Duration::from_secs(3)),
        });
        assert!(open.is_local_rejection());
        assert_eq!(open.failure().retry_after, Some(Duration::from_secs(3)));
        assert_eq!(
            open.to_string(),
            "circuit breaker \"gpt\" is open (retry after 3s)"
        );
        let full = Error::from(BulkheadFull {
            name: "gpt".into(),
            max_concurrent: 4,
            reason: BulkheadRejection::QueueTimeout,
        });
        assert_eq!(
            full.to_string(),
            "bulkhead \"gpt\" is full (4 calls in flight): timed out waiting in the queue"
        );
    }
}
