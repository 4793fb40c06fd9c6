//! The rate-limit seam: admission asks a [`Limiter`] and does not care
//! whether the limit is this gateway's own or the fleet's. A fleet limit
//! decides when the fleet answers; the local limiter is kept in step with
//! what this gateway sent, and decides alone while the fleet cannot be asked.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use steadfast::events::{Event, Events, Rejection};
use steadfast::rate_limit::{Quota, RateLimit, RateLimitExceeded};

use crate::fleet::{Fleet, FleetLimit};

/// `amount` per minute, of which the rate's worth over `burst` (at least one)
/// may be taken at once after a quiet spell: a fresh or refilled limit never
/// lets a whole extra minute through.
pub(super) fn per_minute(amount: u64, burst: Duration) -> Quota {
    let earned = (u128::from(amount) * burst.as_millis()).div_ceil(60_000);
    let burst = u64::try_from(earned)
        .unwrap_or(u64::MAX)
        .clamp(1, amount.max(1));
    Quota::per_minute(amount).with_burst(burst)
}

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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::per_minute;

    #[test]
    fn the_burst_is_the_rate_earned_over_its_time_and_at_least_one() {
        let five = Duration::from_secs(5);
        assert_eq!(per_minute(120, five).burst, 10);
        assert_eq!(per_minute(100_000, five).burst, 8_334);
        assert_eq!(per_minute(2, five).burst, 1);
        assert_eq!(per_minute(120, Duration::from_secs(60)).burst, 120);
        assert_eq!(per_minute(120, Duration::from_millis(500)).burst, 1);
    }
}
