//! Outcome classification: one place that turns the result of a call into
//! [`Outcome::Success`](crate::Outcome::Success) or a
//! [`Failure`](crate::Failure) of a [`FailureKind`](crate::FailureKind) (those
//! three live at the crate root).
//!
//! Every policy decides from the kind, never from ad-hoc checks: the retry
//! policy retries [retryable](crate::FailureKind::is_retryable) kinds, the circuit
//! breaker counts kinds that [count against the target](crate::FailureKind::counts_against_target),
//! and fallback moves on for kinds that [allow failover](crate::FailureKind::allows_failover).

pub mod http;

/// The old path of [`crate::Failure`], kept for one release.
#[deprecated(since = "0.2.0", note = "use steadfast::Failure")]
pub type Failure = crate::Failure;

/// The old path of [`crate::FailureKind`], kept for one release.
#[deprecated(since = "0.2.0", note = "use steadfast::FailureKind")]
pub type FailureKind = crate::FailureKind;

/// The old path of [`crate::Outcome`], kept for one release.
#[deprecated(since = "0.2.0", note = "use steadfast::Outcome")]
pub type Outcome = crate::Outcome;

/// An error that knows what kind of failure it is.
///
/// Implement it for your own error type to use [`ByFailure`] as the classifier.
pub trait AsFailure {
    /// The failure this error stands for.
    fn as_failure(&self) -> crate::Failure;
}

impl AsFailure for crate::Failure {
    fn as_failure(&self) -> crate::Failure {
        *self
    }
}

/// Turns the result of a call into an [`Outcome`](crate::Outcome).
///
/// Implemented by closures `Fn(&Result<T, E>) -> Outcome`, by [`AnyError`] (the
/// default: every `Err` is a transient failure) and by [`ByFailure`] (errors that
/// implement [`AsFailure`]).
pub trait Classify<T, E> {
    /// Classifies one result.
    fn classify(&self, result: &Result<T, E>) -> crate::Outcome;
}

impl<T, E, F> Classify<T, E> for F
where
    F: Fn(&Result<T, E>) -> crate::Outcome,
{
    fn classify(&self, result: &Result<T, E>) -> crate::Outcome {
        self(result)
    }
}

/// The default classifier: `Ok` is a success, every `Err` a transient failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyError;

impl<T, E> Classify<T, E> for AnyError {
    fn classify(&self, result: &Result<T, E>) -> crate::Outcome {
        match result {
            Ok(_) => crate::Outcome::Success,
            Err(_) => crate::Outcome::Failure(crate::Failure::transient()),
        }
    }
}

/// Classifies by the error's own [`AsFailure`] answer; `Ok` is a success.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByFailure;

impl<T, E: AsFailure> Classify<T, E> for ByFailure {
    fn classify(&self, result: &Result<T, E>) -> crate::Outcome {
        match result {
            Ok(_) => crate::Outcome::Success,
            Err(error) => crate::Outcome::Failure(error.as_failure()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{AnyError, ByFailure, Classify};
    use crate::{Failure, FailureKind, Outcome};

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
