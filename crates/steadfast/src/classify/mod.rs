//! Outcome classification: one place that turns the result of a call into
//! [`Outcome::Success`] or a [`Failure`] of a [`FailureKind`].
//!
//! Every policy decides from the kind, never from ad-hoc checks: the retry
//! policy retries [retryable](FailureKind::is_retryable) kinds, the circuit
//! breaker counts kinds that [count against the target](FailureKind::counts_against_target),
//! and fallback moves on for kinds that [allow failover](FailureKind::allows_failover).

pub mod http;

use std::fmt;
use std::time::Duration;

/// What went wrong with a call, as far as resilience policies care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// A passing fault: connection reset, 5xx, a broken stream. Worth retrying.
    Transient,
    /// The call did not answer in time.
    Timeout,
    /// The target asked us to slow down (HTTP 429), maybe saying for how long.
    RateLimited,
    /// The target is overloaded or unavailable (HTTP 503, Anthropic's 529, an open breaker).
    Overloaded,
    /// The request does not fit the model's context window. Another target with a
    /// larger window may take it; the target itself is healthy.
    ContextLength,
    /// The caller's request is invalid (HTTP 400, 422). No target will take it;
    /// the target is healthy.
    InvalidRequest,
    /// The target rejected our credentials (HTTP 401, 403): an operator must act.
    Misconfigured,
    /// Any other failure that retrying the same target will not mend.
    Fatal,
}

impl FailureKind {
    /// Every kind, in declaration order.
    pub const ALL: [FailureKind; 8] = [
        FailureKind::Transient,
        FailureKind::Timeout,
        FailureKind::RateLimited,
        FailureKind::Overloaded,
        FailureKind::ContextLength,
        FailureKind::InvalidRequest,
        FailureKind::Misconfigured,
        FailureKind::Fatal,
    ];

    /// Whether trying the same target again may succeed.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            FailureKind::Transient
                | FailureKind::Timeout
                | FailureKind::RateLimited
                | FailureKind::Overloaded
        )
    }

    /// Whether the failure says something about the target's health, so
    /// circuit breakers and health tracking should count it.
    pub const fn counts_against_target(self) -> bool {
        !matches!(
            self,
            FailureKind::ContextLength | FailureKind::InvalidRequest
        )
    }

    /// Whether another target may succeed where this one failed.
    pub const fn allows_failover(self) -> bool {
        !matches!(self, FailureKind::InvalidRequest)
    }

    /// The snake_case name used in config files, metrics labels and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureKind::Transient => "transient",
            FailureKind::Timeout => "timeout",
            FailureKind::RateLimited => "rate_limited",
            FailureKind::Overloaded => "overloaded",
            FailureKind::ContextLength => "context_length",
            FailureKind::InvalidRequest => "invalid_request",
            FailureKind::Misconfigured => "misconfigured",
            FailureKind::Fatal => "fatal",
        }
    }

    /// Parses the snake_case name given by [`FailureKind::as_str`].
    pub fn from_name(name: &str) -> Option<FailureKind> {
        FailureKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified failure: its kind and, when the target said so, how long to
/// wait before asking it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Failure {
    /// What went wrong.
    pub kind: FailureKind,
    /// The earliest time, from now, at which the target will take a request again.
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// A failure of `kind` with no retry-after hint.
    pub const fn new(kind: FailureKind) -> Failure {
        Failure {
            kind,
            retry_after: None,
        }
    }

    /// A failure of `kind` that must not be retried before `retry_after` has passed.
    pub const fn with_retry_after(kind: FailureKind, retry_after: Option<Duration>) -> Failure {
        Failure { kind, retry_after }
    }

    /// Shorthand for `Failure::new(FailureKind::Transient)`.
    pub const fn transient() -> Failure {
        Failure::new(FailureKind::Transient)
    }

    /// Shorthand for `Failure::new(FailureKind::Timeout)`.
    pub const fn timeout() -> Failure {
        Failure::new(FailureKind::Timeout)
    }

    /// A rate-limit failure with an optional retry-after hint.
    pub const fn rate_limited(retry_after: Option<Duration>) -> Failure {
        Failure::with_retry_after(FailureKind::RateLimited, retry_after)
    }
}

impl From<FailureKind> for Failure {
    fn from(kind: FailureKind) -> Failure {
        Failure::new(kind)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.retry_after {
            Some(after) => write!(f, "{} (retry after {after:?})", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// The verdict on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The call did what was asked.
    Success,
    /// The call failed.
    Failure(Failure),
}

impl Outcome {
    /// Whether this is [`Outcome::Success`].
    pub const fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }

    /// The failure, if the call failed.
    pub const fn failure(&self) -> Option<Failure> {
        match self {
            Outcome::Success => None,
            Outcome::Failure(failure) => Some(*failure),
        }
    }
}

impl From<Failure> for Outcome {
    fn from(failure: Failure) -> Outcome {
        Outcome::Failure(failure)
    }
}

impl From<FailureKind> for Outcome {
    fn from(kind: FailureKind) -> Outcome {
        Outcome::Failure(Failure::new(kind))
    }
}

/// An error that knows what kind of failure it is.
///
/// Implement it for your own error type to use [`ByFailure`] as the classifier.
pub trait AsFailure {
    /// The failure this error stands for.
    fn as_failure(&self) -> Failure;
}

impl AsFailure for Failure {
    fn as_failure(&self) -> Failure {
        *self
    }
}

/// Turns the result of a call into an [`Outcome`].
///
/// Implemented by closures `Fn(&Result<T, E>) -> Outcome`, by [`AnyError`] (the
/// default: every `Err` is a transient failure) and by [`ByFailure`] (errors that
/// implement [`AsFailure`]).
pub trait Classify<T, E> {
    /// Classifies one result.
    fn classify(&self, result: &Result<T, E>) -> Outcome;
}

impl<T, E, F> Classify<T, E> for F
where
    F: Fn(&Result<T, E>) -> Outcome,
{
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        self(result)
    }
}

/// The default classifier: `Ok` is a success, every `Err` a transient failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyError;

impl<T, E> Classify<T, E> for AnyError {
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure(Failure::transient()),
        }
    }
}

/// Classifies by the error's own [`AsFailure`] answer; `Ok` is a success.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByFailure;

impl<T, E: AsFailure> Classify<T, E> for ByFailure {
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(error) => Outcome::Failure(error.as_failure()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in FailureKind::ALL {
            assert_eq!(FailureKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(FailureKind::from_name("nope"), None);
    }

    #[test]
    fn only_client_side_kinds_spare_the_target() {
        let spared: Vec<_> = FailureKind::ALL
            .into_iter()
            .filter(|kind| !kind.counts_against_target())
            .collect();
        assert_eq!(
            spared,
            [FailureKind::ContextLength, FailureKind::InvalidRequest]
        );
        assert!(!FailureKind::InvalidRequest.allows_failover());
        assert!(FailureKind::ContextLength.allows_failover());
        assert!(!FailureKind::Misconfigured.is_retryable());
    }

    #[test]
    fn classifiers_agree_on_ok() {
        let ok: Result<u8, Failure> = Ok(1);
        let err: Result<u8, Failure> = Err(Failure::rate_limited(Some(Duration::from_secs(2))));
        assert_eq!(AnyError.classify(&ok), Outcome::Success);
        assert_eq!(ByFailure.classify(&ok), Outcome::Success);
        assert_eq!(AnyError.classify(&err), Failure::transient().into());
        assert_eq!(
            ByFailure
                .classify(&err)
                .failure()
                .and_then(|f| f.retry_after),
            Some(Duration::from_secs(2))
        );
        let closure = |r: &Result<u8, Failure>| match r {
            Ok(0) => Outcome::from(FailureKind::Fatal),
            _ => Outcome::Success,
        };
        assert_eq!(closure.classify(&Ok(0)), FailureKind::Fatal.into());
    }
}
