//! Why one attempt on one target failed, in words safe to show a client.

use steadfast::Failure;
use steadfast::classify::AsFailure;
use steadfast::fallback::SkipReason;

use crate::outcome::Skip;

/// Why one attempt on one target failed.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptError {
    /// The classified failure.
    pub failure: Failure,
    /// A sanitised description, safe to show a client.
    pub message: String,
    /// The upstream's HTTP status, if it answered.
    pub status: Option<u16>,
    /// The upstream's own code for a refusal of the request itself
    /// (`content_filter`, `content_policy_violation`, …), kept for the client.
    pub code: Option<String>,
    skipped: Option<Skip>,
}

impl AsFailure for AttemptError {
    fn as_failure(&self) -> Failure {
        self.failure
    }

    /// A target passed over ([`AttemptError::passed_over`]) is a skip to the
    /// route's strategy: it moves on whatever `fallback_on` says.
    fn passed_over(&self) -> Option<SkipReason> {
        self.skipped.map(Skip::reason)
    }
}

impl AttemptError {
    /// A failure that never reached an HTTP answer.
    pub fn new(failure: Failure, message: impl Into<String>) -> AttemptError {
        AttemptError {
            failure,
            message: message.into(),
            status: None,
            code: None,
            skipped: None,
        }
    }

    /// A failure the upstream answered with HTTP `status`.
    pub fn answered(failure: Failure, status: u16, message: impl Into<String>) -> AttemptError {
        AttemptError {
            status: Some(status),
            ..AttemptError::new(failure, message)
        }
    }

    /// With the upstream's own `code` for its refusal.
    pub fn with_code(self, code: Option<String>) -> AttemptError {
        AttemptError { code, ..self }
    }

    /// A target passed over by a local check, without a network call.
    pub fn skipped(reason: Skip) -> AttemptError {
        AttemptError::passed_over(reason, format!("skipped ({})", reason.as_str()))
    }

    /// A target passed over for `reason`, without a network call, as
    /// `message` explains.
    pub fn passed_over(reason: Skip, message: String) -> AttemptError {
        AttemptError {
            skipped: Some(reason),
            ..AttemptError::new(reason.failure(), message)
        }
    }

    /// Why the target was passed over without a network call, if it was.
    pub fn skip(&self) -> Option<Skip> {
        self.skipped
    }
}
