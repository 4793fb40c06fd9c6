//! Admission of one attempt to one target: every local check that can skip a
//! target without a network call (retry-after cool-down, open breaker, ejected
//! or unhealthy, rate limit, full bulkhead), and the recording of the
//! attempt's outcome into the target's state once it is known.

use std::sync::Arc;
use std::time::Duration;

use steadfast::breaker::OwnedPermit;
use steadfast::bulkhead::BulkheadPermit;
use steadfast::{Failure, FailureKind};
use tokio::time::Instant;

use super::usage::Usage;
use crate::runtime::Target;

/// Why a target was passed over without a network call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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
}

impl Skip {
    /// The failure a skip stands for, for strategies that only know failures.
    pub const fn failure(self) -> Failure {
        match self {
            Skip::RateLimited | Skip::CoolingDown => Failure::new(FailureKind::RateLimited),
            Skip::ContextTooSmall => Failure::new(FailureKind::ContextLength),
            _ => Failure::new(FailureKind::Overloaded),
        }
    }
    /// Every reason, in declaration order.
    pub const ALL: [Skip; 7] = [
        Skip::BreakerOpen,
        Skip::CoolingDown,
        Skip::RateLimited,
        Skip::Busy,
        Skip::Unhealthy,
        Skip::Unavailable,
        Skip::ContextTooSmall,
    ];

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
        }
    }
}

/// A target's leave to send one attempt. Record its end with
/// [`Admission::succeed`] or [`Admission::fail`]; dropping it unrecorded (the
/// client went away, the route ran out of time) counts as cancelled, not as a
/// failure of the target.
#[derive(Debug)]
pub struct Admission {
    target: Arc<Target>,
    permit: OwnedPermit,
    _slot: Option<BulkheadPermit>,
    started: Instant,
    estimated_units: u64,
}

impl Admission {
    /// Runs every local check of `target`. `last_resort` lets the attempt wait
    /// in the target's bulkhead queue instead of skipping it.
    pub async fn admit(
        target: &Arc<Target>,
        estimated_units: u64,
        last_resort: bool,
    ) -> Result<Admission, Skip> {
        if target.cooling_down().is_some() {
            return Err(Skip::CoolingDown);
        }
        if !target.health.is_available() {
            return Err(Skip::Unhealthy);
        }
        let permit = target
            .breaker
            .try_acquire_owned()
            .map_err(|_| Skip::BreakerOpen)?;
        if let Some(limit) = &target.rate_limit {
            limit
                .check(estimated_units)
                .await
                .map_err(|_| Skip::RateLimited)?;
        }
        let slot = match &target.bulkhead {
            None => None,
            Some(bulkhead) => match bulkhead.try_acquire() {
                Ok(slot) => Some(slot),
                Err(_) if last_resort => Some(bulkhead.acquire().await.map_err(|_| Skip::Busy)?),
                Err(_) => return Err(Skip::Busy),
            },
        };
        Ok(Admission {
            target: Arc::clone(target),
            permit,
            _slot: slot,
            started: Instant::now(),
            estimated_units,
        })
    }

    /// The admitted target.
    pub fn target(&self) -> &Arc<Target> {
        &self.target
    }

    /// Time since admission.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The attempt succeeded; the tokens the upstream reported, if any, are
    /// counted and correct the rate-limit estimate.
    pub fn succeed(self, usage: Option<Usage>) {
        let elapsed = self.elapsed();
        self.target.latency.record(elapsed);
        self.target
            .health
            .record(&steadfast::Outcome::Success, elapsed);
        self.target.count(true);
        self.target.signals.success();
        self.target.set_misconfigured(false);
        if let Some(usage) = usage {
            self.target.metrics.tokens(&usage);
            if let Some(limit) = &self.target.rate_limit {
                limit.correct(self.estimated_units, usage.total);
            }
        }
        self.permit.record_success();
    }

    /// The attempt failed with `failure`.
    pub fn fail(self, failure: Failure) {
        self.target.count(false);
        self.target
            .signals
            .failure(failure.kind.counts_against_target());
        self.target
            .health
            .record(&steadfast::Outcome::Failure(failure), self.elapsed());
        if let Some(after) = failure.retry_after {
            self.target.cool_down(after);
        }
        if failure.kind == FailureKind::Misconfigured {
            self.target.set_misconfigured(true);
            tracing::error!(
                target_model = %self.target.name,
                provider = %self.target.provider.name,
                "the provider refused the gateway's credentials: check the provider's api_key"
            );
        }
        if failure.kind.counts_against_target() {
            self.permit.record_failure(failure);
        } else {
            self.permit.record_ignored();
        }
    }
}
