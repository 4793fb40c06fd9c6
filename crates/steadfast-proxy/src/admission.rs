//! Admission of one attempt to one target: every local check that can skip a
//! target without a network call (retry-after cool-down, open breaker, ejected
//! or unhealthy, rate limit, full bulkhead or adaptive limit), and the
//! recording of the attempt's outcome into the target's state once it is
//! known (the adaptive limit learns from it).

use std::sync::Arc;
use std::time::Duration;

use steadfast::adaptive::LimitPermit;
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
    slot: Slot,
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
        let slot = Slot::take(target, last_resort).await?;
        Ok(Admission {
            target: Arc::clone(target),
            permit,
            slot,
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
        if let Slot::Learned(slot) = self.slot {
            slot.success();
        }
    }

    /// The attempt failed with `failure`. An overload answer without a
    /// `Retry-After` (429, 503, 529) from a target whose concurrency limit is
    /// learned is answered by lowering that limit: it says "too many at
    /// once", not "broken", so its breaker and health do not count it.
    pub(crate) fn fail(self, failure: Failure) {
        let answered_by_limit = matches!(self.slot, Slot::Learned(_))
            && matches!(
                failure.kind,
                FailureKind::RateLimited | FailureKind::Overloaded
            )
            && failure.retry_after.is_none();
        let against_target = failure.kind.counts_against_target() && !answered_by_limit;
        self.target.count(false);
        self.target.signals.failure(against_target);
        if !answered_by_limit {
            self.target
                .health
                .record(&steadfast::Outcome::Failure(failure), self.elapsed());
        }
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
        if against_target {
            self.permit.record_failure(failure);
        } else {
            self.permit.record_ignored();
        }
        if let Slot::Learned(slot) = self.slot {
            slot.record(&steadfast::Outcome::Failure(failure));
        }
    }
}

/// A target's place for one attempt, where its concurrency is bounded.
#[derive(Debug)]
enum Slot {
    /// No bound.
    Unbounded,
    /// A place under `max_concurrency`.
    Fixed(
        #[expect(dead_code, reason = "held, not read: the place is given back on drop")]
        BulkheadPermit,
    ),
    /// A place under the learned limit, which learns from the attempt's end.
    Learned(LimitPermit),
}

impl Slot {
    /// Takes a place in `target`, waiting in its queue only as the
    /// `last_resort`; `Skip::Busy` when there is none.
    async fn take(target: &Target, last_resort: bool) -> Result<Slot, Skip> {
        if let Some(adaptive) = &target.adaptive {
            let place = match adaptive.try_acquire() {
                Err(_) if last_resort => adaptive.acquire().await,
                taken => taken,
            };
            return place.map(Slot::Learned).map_err(|_| Skip::Busy);
        }
        let Some(bulkhead) = &target.bulkhead else {
            return Ok(Slot::Unbounded);
        };
        let place = match bulkhead.try_acquire() {
            Err(_) if last_resort => bulkhead.acquire().await,
            taken => taken,
        };
        place.map(Slot::Fixed).map_err(|_| Skip::Busy)
    }
}
