//! The verdict on a call that every policy decides from: [`Outcome::Success`]
//! or a [`Failure`] of a [`FailureKind`], with the target's retry-after hint.
//! Re-exported at the crate root, their only path.

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

/// `" (retry after 3s)"`, or nothing without a hint: the tail of the
/// messages of rejections that may say when to come back.
pub(crate) fn retry_after_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(after) => format!(" (retry after {after:?})"),
        None => String::new(),
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
}

/// Why a target was passed over without a call: a short `snake_case` name
/// for logs and metrics, and whether a later [retry pass](crate::retry::RetryPolicy::passes)
/// may try it again (a full queue may have a place by then; an open breaker
/// is judged again by its own availability anyway).
///
/// ```
/// use steadfast::SkipReason;
///
/// const UNTRANSLATABLE: SkipReason = SkipReason::new("untranslatable");
/// assert_eq!(UNTRANSLATABLE.as_str(), "untranslatable");
/// assert!(!UNTRANSLATABLE.tried_again());
/// assert!(SkipReason::BUSY.tried_again());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SkipReason {
    name: &'static str,
    tried_again: bool,
}

impl SkipReason {
    /// Unavailable before the call, for no more precise reason.
    pub const UNAVAILABLE: SkipReason = SkipReason::new("unavailable");
    /// Its circuit breaker is open.
    pub const BREAKER_OPEN: SkipReason = SkipReason::new("breaker_open");
    /// Its concurrency (bulkhead or learned limit) is full; tried again in a later pass.
    pub const BUSY: SkipReason = SkipReason::new("busy").then_tried_again();
    /// It is at its local rate limit.
    pub const RATE_LIMITED: SkipReason = SkipReason::new("rate_limited");

    /// A reason named `name`, not tried again by a later pass.
    pub const fn new(name: &'static str) -> SkipReason {
        SkipReason {
            name,
            tried_again: false,
        }
    }

    /// The same reason, with the target tried again by a later retry pass.
    pub const fn then_tried_again(self) -> SkipReason {
        SkipReason {
            tried_again: true,
            ..self
        }
    }

    /// The reason's name.
    pub const fn as_str(self) -> &'static str {
        self.name
    }

    /// Whether a later retry pass tries the target again.
    pub const fn tried_again(self) -> bool {
        self.tried_again
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}
