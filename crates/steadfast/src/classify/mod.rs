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

/// An error that knows what kind of failure it is: every policy judges a
/// call's error by it — `call` on a breaker, retry, pipeline or hedge, every
/// tower layer, and the fallback strategies.
///
/// Implement it for your own error type, so a 400 is not counted against a
/// target nor retried, and a 429's retry-after is honoured:
///
/// ```
/// use std::time::Duration;
/// use steadfast::classify::AsFailure;
/// use steadfast::{Failure, FailureKind};
///
/// #[derive(Debug)]
/// enum ApiError { BadRequest, RateLimited { retry_after: Duration }, Down }
/// # impl std::fmt::Display for ApiError {
/// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
/// # }
/// # impl std::error::Error for ApiError {}
///
/// impl AsFailure for ApiError {
///     fn as_failure(&self) -> Failure {
///         match self {
///             ApiError::BadRequest => Failure::new(FailureKind::InvalidRequest),
///             ApiError::RateLimited { retry_after } => Failure::rate_limited(Some(*retry_after)),
///             ApiError::Down => Failure::transient(),
///         }
///     }
/// }
/// ```
///
/// Implemented here for [`Failure`](crate::Failure), [`Error`](crate::Error),
/// [`BoxError`](crate::BoxError) (by what it holds: an [`Error`](crate::Error)
/// or an `std::io::Error`; anything else is transient), `std::io::Error` (a
/// timeout is [`Timeout`](crate::FailureKind::Timeout), the rest
/// transient), plain messages (`&str`, `String`: transient) and
/// `Infallible`. For a foreign error type, wrap it, or pass a classifier
/// (`call_classified` with [`AnyError`] or a closure).
pub trait AsFailure {
    /// The failure this error stands for.
    fn as_failure(&self) -> crate::Failure;

    /// Whether the error says the target was passed over rather than called
    /// (it could not take the request now: its own queue full, a format it
    /// cannot carry), and why. The fallback strategies then record a skip
    /// with that reason, not a failure, and move on to the next target
    /// whatever their `fallback_on` says. Default: `None`.
    fn passed_over(&self) -> Option<crate::SkipReason> {
        None
    }
}

impl AsFailure for crate::Failure {
    fn as_failure(&self) -> crate::Failure {
        *self
    }
}

impl AsFailure for std::io::Error {
    fn as_failure(&self) -> crate::Failure {
        if self.kind() == std::io::ErrorKind::TimedOut {
            crate::Failure::timeout()
        } else {
            crate::Failure::transient()
        }
    }
}

impl AsFailure for crate::BoxError {
    fn as_failure(&self) -> crate::Failure {
        if let Some(ours) = self.downcast_ref::<crate::Error>() {
            ours.failure()
        } else if let Some(io) = self.downcast_ref::<std::io::Error>() {
            io.as_failure()
        } else {
            crate::Failure::transient()
        }
    }
}

impl AsFailure for &str {
    fn as_failure(&self) -> crate::Failure {
        crate::Failure::transient()
    }
}

impl AsFailure for String {
    fn as_failure(&self) -> crate::Failure {
        crate::Failure::transient()
    }
}

impl AsFailure for std::convert::Infallible {
    fn as_failure(&self) -> crate::Failure {
        match *self {}
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
