//! What became of a request and of each of its attempts, as counted, logged
//! and shown: the vocabulary the engine, the metrics and the gateway share.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use steadfast::fallback::SkipReason;
use steadfast::{Failure, FailureKind};

/// Why a target was passed over without a network call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// Its breaker is open.
    BreakerOpen,
    /// It asked us to wait (`Retry-After`) and the wait is not over.
    CoolingDown,
    /// It is at its configured rate limit.
    RateLimited,
    /// It is at its configured concurrency.
    Busy,
    /// Its health probes fail.
    Unhealthy,
    /// Its breaker is open, it is unhealthy or cooling down (seen before calling).
    Unavailable,
    /// A smaller context window already refused the request.
    ContextTooSmall,
    /// It speaks another format, which cannot carry this request (a JSON
    /// response format to Anthropic, an embedding to Gemini, …).
    Untranslatable,
    /// It cannot continue a broken stream: it refused the continuation
    /// request, answered with text that starts over or departs from what the
    /// client has, or was still repeating that text when its first-token
    /// time ran out (not joined, and not a failure of the model).
    NotContinued,
    /// It needs the request translated, and the gateway is translating as
    /// many bytes at once as its budget allows (`server.max_translating_bytes`).
    TranslationBudget,
}

impl Skip {
    /// Every reason, in declaration order.
    pub const ALL: [Skip; 10] = [
        Skip::BreakerOpen,
        Skip::CoolingDown,
        Skip::RateLimited,
        Skip::Busy,
        Skip::Unhealthy,
        Skip::Unavailable,
        Skip::ContextTooSmall,
        Skip::Untranslatable,
        Skip::NotContinued,
        Skip::TranslationBudget,
    ];

    /// The failure a skip stands for, for strategies that only know failures.
    pub const fn failure(self) -> Failure {
        match self {
            Skip::RateLimited | Skip::CoolingDown => Failure::new(FailureKind::RateLimited),
            Skip::ContextTooSmall => Failure::new(FailureKind::ContextLength),
            Skip::Untranslatable | Skip::NotContinued => Failure::new(FailureKind::Fatal),
            _ => Failure::new(FailureKind::Overloaded),
        }
    }

    /// The reason as the library's strategies record it: a full target
    /// (`busy`) is tried again in a later retry pass, the others are not.
    pub const fn reason(self) -> SkipReason {
        match self {
            Skip::Busy => SkipReason::BUSY,
            other => SkipReason::new(other.as_str()),
        }
    }

    /// The skip a library reason names; `unavailable` for one it does not.
    pub fn from_reason(reason: SkipReason) -> Skip {
        Skip::ALL
            .into_iter()
            .find(|skip| skip.as_str() == reason.as_str())
            .unwrap_or(Skip::Unavailable)
    }

    /// The snake_case name used in logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Skip::BreakerOpen => "breaker_open",
            Skip::CoolingDown => "cooling_down",
            Skip::RateLimited => "rate_limited",
            Skip::Busy => "busy",
            Skip::Unhealthy => "unhealthy",
            Skip::Unavailable => "unavailable",
            Skip::ContextTooSmall => "context_too_small",
            Skip::Untranslatable => "untranslatable",
            Skip::NotContinued => "not_continued",
            Skip::TranslationBudget => "translation_budget",
        }
    }
}

/// What happened to one target during a request.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// The target's model name.
    pub target: Arc<str>,
    /// What came of it.
    #[serde(flatten)]
    pub result: AttemptResult,
    /// How long it took (zero for a skip).
    #[serde(with = "millis")]
    pub elapsed: Duration,
}

/// The result of one attempt.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AttemptResult {
    /// It answered.
    Served,
    /// It failed.
    Failed {
        /// The kind of failure.
        #[serde(serialize_with = "kind_name")]
        kind: FailureKind,
    },
    /// It was passed over without a network call.
    Skipped {
        /// Why.
        reason: Skip,
    },
    /// It was still running when another target answered, and was dropped.
    Cancelled,
}

/// How a request ended, as counted and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A target answered, to the end of its answer.
    Served,
    /// Every target failed, was skipped or ran out of attempts, or a stream
    /// broke after its first token.
    Failed,
    /// The request itself was at fault; no target would take it.
    ClientError,
    /// The route's time budget ran out.
    Timeout,
    /// The client went away before its answer ended.
    Cancelled,
    /// The route's cache answered, without a call.
    CacheHit,
    /// Every target failed and the route's cache answered with a kept answer.
    Stale,
    /// Every target failed and the route's static last answer answered.
    Static,
    /// The route refused the request to keep its capacity for higher priorities.
    Shed,
}

impl Outcome {
    /// Every outcome, in declaration order.
    pub const ALL: [Outcome; 9] = [
        Outcome::Served,
        Outcome::Failed,
        Outcome::ClientError,
        Outcome::Timeout,
        Outcome::Cancelled,
        Outcome::CacheHit,
        Outcome::Stale,
        Outcome::Static,
        Outcome::Shed,
    ];

    /// The snake_case name used in metrics labels and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Served => "served",
            Outcome::Failed => "failed",
            Outcome::ClientError => "client_error",
            Outcome::Timeout => "timeout",
            Outcome::Cancelled => "cancelled",
            Outcome::CacheHit => "cache_hit",
            Outcome::Stale => "stale",
            Outcome::Static => "static",
            Outcome::Shed => "shed",
        }
    }
}

/// Number of attempts sent to targets (skips excluded).
pub fn sent(attempts: &[Attempt]) -> usize {
    attempts
        .iter()
        .filter(|a| !matches!(a.result, AttemptResult::Skipped { .. }))
        .count()
}

/// Whether the target that answered last did so after another target failed
/// or was skipped (a retry on the same target or a cancelled race loser is
/// no failover).
pub fn failed_over(attempts: &[Attempt]) -> bool {
    let Some(served) = attempts
        .iter()
        .rev()
        .find(|a| matches!(a.result, AttemptResult::Served))
    else {
        return false;
    };
    attempts.iter().any(|a| {
        a.target != served.target
            && matches!(
                a.result,
                AttemptResult::Failed { .. } | AttemptResult::Skipped { .. }
            )
    })
}

/// "gpt: overloaded; claude: skipped (breaker_open)".
pub fn summary(attempts: &[Attempt]) -> String {
    let parts: Vec<String> = attempts
        .iter()
        .map(|attempt| match attempt.result {
            AttemptResult::Served => format!("{}: served", attempt.target),
            AttemptResult::Failed { kind } => format!("{}: {kind}", attempt.target),
            AttemptResult::Skipped { reason } => {
                format!("{}: skipped ({})", attempt.target, reason.as_str())
            }
            AttemptResult::Cancelled => format!("{}: cancelled", attempt.target),
        })
        .collect();
    if parts.is_empty() {
        "No target was tried.".into()
    } else {
        format!("Attempts: {}.", parts.join("; "))
    }
}

fn kind_name<S: serde::Serializer>(kind: &FailureKind, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(kind.as_str())
}

mod millis {
    use std::time::Duration;

    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(duration.as_secs_f64() * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(target: &str, result: AttemptResult) -> Attempt {
        Attempt {
            target: target.into(),
            result,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn a_failover_is_an_answer_after_another_target_failed_or_was_skipped() {
        let failed = AttemptResult::Failed {
            kind: FailureKind::Transient,
        };
        let skipped = AttemptResult::Skipped {
            reason: Skip::BreakerOpen,
        };
        let served = AttemptResult::Served;
        assert!(!failed_over(&[attempt("a", served)]));
        assert!(!failed_over(&[attempt("a", failed), attempt("a", served)]));
        assert!(failed_over(&[attempt("a", failed), attempt("b", served)]));
        assert!(failed_over(&[attempt("a", skipped), attempt("b", served)]));
        assert!(!failed_over(&[
            attempt("a", AttemptResult::Cancelled),
            attempt("b", served)
        ]));
        assert!(!failed_over(&[attempt("a", failed)]));
        assert_eq!(sent(&[attempt("a", skipped), attempt("b", served)]), 1);
        assert_eq!(
            summary(&[attempt("a", skipped), attempt("b", served)]),
            "Attempts: a: skipped (breaker_open); b: served."
        );
    }
}
