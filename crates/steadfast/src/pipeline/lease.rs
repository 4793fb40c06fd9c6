//! The permit form of a pipeline: a call admitted now whose outcome is known
//! later (a streamed answer, reported when its last event arrives).

use std::time::Duration;

use tokio::time::Instant;

use super::Stages;
use crate::breaker::OwnedPermit;
use crate::bulkhead::BulkheadPermit;
use crate::rate_limit::RateLimit;
use crate::{Error, Failure, Outcome};

/// One call admitted by a [`Pipeline`](super::Pipeline)'s breaker, rate
/// limit and bulkhead ([`Pipeline::admit`](super::Pipeline::admit)), whose
/// outcome is reported when it is known: [`Lease::succeed`] or
/// [`Lease::fail`]. Dropping it unreported counts as cancelled (the caller
/// gave up; the target did not fail). Its bulkhead place is held until then.
#[derive(Debug)]
#[must_use = "report the call's outcome; dropping the lease counts as cancelled"]
pub struct Lease {
    permit: Option<OwnedPermit>,
    _place: Option<BulkheadPermit>,
    units: Option<(RateLimit, u64)>,
    started: Instant,
}

impl Lease {
    /// Time since the call was admitted.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The call succeeded.
    pub fn succeed(self) {
        self.report(Outcome::Success);
    }

    /// The call failed with `failure`; the breaker counts it if its kind
    /// [counts against the target](crate::FailureKind::counts_against_target).
    pub fn fail(self, failure: Failure) {
        self.report(Outcome::Failure(failure));
    }

    /// Reports `outcome` to the breaker.
    pub fn report(mut self, outcome: Outcome) {
        if let Some(permit) = self.permit.take() {
            permit.record(outcome);
        }
    }

    /// The units the call really cost (tokens, say), once known: the rate
    /// limit's estimate taken at admission is corrected by the difference.
    pub fn correct_units(&self, actual: u64) {
        if let Some((limit, estimated)) = &self.units {
            limit.correct(*estimated, actual);
        }
    }
}

impl Stages {
    /// The breaker's permit, `units` of the rate limit, a place in the
    /// bulkhead, in that order; a refusal after the breaker's permit is
    /// recorded on it as ignored (a local rejection says nothing of the target).
    pub(super) async fn admit(&self, units: u64) -> Result<Lease, Error> {
        let permit = match &self.breaker {
            Some(breaker) => Some(breaker.try_acquire_owned()?),
            None => None,
        };
        let refused = |permit: Option<OwnedPermit>, error: Error| {
            if let Some(permit) = permit {
                permit.record_ignored();
            }
            error
        };
        if let Some(limit) = &self.rate_limit {
            if let Err(exceeded) = limit.check(units) {
                return Err(refused(permit, exceeded.into()));
            }
        }
        let place = match &self.bulkhead {
            Some(bulkhead) => match bulkhead.acquire().await {
                Ok(place) => Some(place),
                Err(full) => return Err(refused(permit, full.into())),
            },
            None => None,
        };
        Ok(Lease {
            permit,
            _place: place,
            units: self.rate_limit.clone().map(|limit| (limit, units)),
            started: Instant::now(),
        })
    }
}
