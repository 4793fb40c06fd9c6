//! Admission of one attempt to one target: every local check that can skip a
//! target without a network call (retry-after cool-down, open breaker, ejected
//! or unhealthy, rate limit, full bulkhead), and the recording of the
//! attempt's outcome into the target's state once it is known.

use std::sync::Arc;
use std::time::Duration;

use steadfast::breaker::OwnedPermit;
use steadfast::bulkhead::BulkheadPermit;
use steadfast::{Failure, FailureKind};
use steadfast_wire::tokens::Tokens;
use tokio::time::Instant;

use crate::outcome::Skip;
use crate::runtime::Target;

/// A target's leave to send one attempt. Record its end with
/// [`Admission::succeed`] or [`Admission::fail`]; dropping it unrecorded (the
/// client went away, the route ran out of time) counts as cancelled, not as a
/// failure of the target.
#[derive(Debug)]
pub(crate) struct Admission {
    target: Arc<Target>,
    permit: OwnedPermit,
    _slot: Option<BulkheadPermit>,
    started: Instant,
    estimated_units: u64,
}

impl Admission {
    /// Runs every local check of `target`. `last_resort` lets the attempt wait
    /// in the target's bulkhead queue instead of skipping it.
    pub(crate) async fn admit(
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
            limit.check(estimated_units).await.map_err(|refused| {
                target.note_limited(refused.retry_after);
                Skip::RateLimited
            })?;
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
    pub(crate) fn target(&self) -> &Arc<Target> {
        &self.target
    }

    /// Time since admission.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The attempt succeeded; the tokens the upstream reported, if any, are
    /// counted and correct the rate-limit estimate.
    pub(crate) fn succeed(self, usage: Option<Tokens>) {
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
    pub(crate) fn fail(self, failure: Failure) {
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
