//! The rate-limit seam: admission asks a [`Limiter`] and does not care
//! whether the limit is this gateway's own or the fleet's. A fleet limit
//! decides when the fleet answers; the local limiter is kept in step with
//! what this gateway sent, and decides alone while the fleet cannot be asked.

use std::fmt;
use std::sync::Arc;

use steadfast::events::{Event, Events, Rejection};
use steadfast::rate_limit::{Quota, RateLimit, RateLimitExceeded};

use crate::fleet::{Fleet, FleetLimit};

/// A request and/or unit (token) limit, local or fleet-wide.
pub struct Limiter {
    local: RateLimit,
    fleet: Option<Box<dyn FleetLimit>>,
    events: Events,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("local", &self.local)
            .field("fleet", &self.fleet.is_some())
            .finish()
    }
}

impl Limiter {
    /// The limiter of `scope` (`model:gpt`, `client:team-a`), named `name` in
    /// errors and events; fleet-wide when `fleet` is given.
    pub fn new(
        name: &Arc<str>,
        scope: &str,
        requests: Option<Quota>,
        units: Option<Quota>,
        events: &Events,
        fleet: Option<&dyn Fleet>,
    ) -> Limiter {
        let mut builder = RateLimit::builder()
            .name(Arc::clone(name))
            .events(events.clone());
        if let Some(quota) = requests {
            builder = builder.requests(quota);
        }
        if let Some(quota) = units {
            builder = builder.units(quota);
        }
        Limiter {
            local: builder.build(),
            fleet: fleet.map(|fleet| fleet.limit(scope, requests, units)),
            events: events.clone(),
        }
    }

    /// The local limiter (the whole limit when local, the fallback when shared).
    pub fn local(&self) -> &RateLimit {
        &self.local
    }

    /// Takes one request and `units` units if the limit allows it now, or
    /// nothing. Fleet-wide: one round trip, or the local limiter while the
    /// fleet cannot be asked.
    pub async fn check(&self, units: u64) -> Result<(), RateLimitExceeded> {
        let Some(fleet) = &self.fleet else {
            return self.local.check(units);
        };
        match fleet.take(units).await {
            Some(Ok(())) => {
                // Keep the fallback in step with what this gateway sent.
                if let Some(requests) = self.local.requests() {
                    requests.charge(1);
                }
                if let Some(limiter) = self.local.units() {
                    limiter.charge(units);
                }
                Ok(())
            }
            Some(Err(retry_after)) => {
                let name = Arc::clone(self.local.name());
                self.events.emit(Event::Rejected {
                    name: Arc::clone(&name),
                    by: Rejection::RateLimited,
                });
                Err(RateLimitExceeded { name, retry_after })
            }
            None => self.local.check(units),
        }
    }

    /// Corrects the unit estimate once the real usage is known (fleet-wide
    /// in the background, so a stream's end never waits on it).
    pub fn correct(&self, estimated: u64, actual: u64) {
        self.local.correct(estimated, actual);
        if let Some(fleet) = &self.fleet {
            fleet.correct(estimated, actual);
        }
    }
}
