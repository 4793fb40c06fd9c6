//! The lock-free GCRA limiter on one atomic.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::Quota;
use super::RateLimitExceeded;

/// A GCRA rate limiter of one [`Quota`]; lock-free, one `AtomicU64`.
///
/// The state is the theoretical arrival time (TAT): the instant, in
/// nanoseconds since the limiter was made, at which the units taken so far
/// would have been paid off at the quota's rate. Taking `n` units moves it
/// `n × interval / amount` forward; a request is allowed while the TAT stays
/// within `burst` units' worth of now.
///
/// A request for more than `burst` units can never fit; it is admitted only
/// when the limiter is fully rested, and then puts the limiter into debt that
/// later requests wait out. The long-run rate is kept; the burst is exceeded
/// once.
#[derive(Debug)]
pub struct RateLimiter {
    name: Arc<str>,
    quota: Quota,
    base: Instant,
    unit: u64,
    tolerance: u64,
    tat: AtomicU64,
}

impl RateLimiter {
    /// A limiter of `quota`, fully rested, named `name` in its errors.
    pub fn new(name: impl Into<Arc<str>>, quota: Quota) -> RateLimiter {
        let unit = quota.unit_nanos();
        RateLimiter {
            name: name.into(),
            quota,
            base: Instant::now(),
            unit,
            tolerance: quota.burst.max(1).saturating_mul(unit),
            tat: AtomicU64::new(0),
        }
    }

    /// The limiter's quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Takes `n` units if the quota allows it now; otherwise takes nothing and
    /// says how long until `n` units would be allowed (if nobody else takes
    /// any meanwhile).
    pub fn try_acquire(&self, n: u64) -> Result<(), RateLimitExceeded> {
        let cost = self.cost(n);
        let now = self.now();
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let start = tat.max(now);
            let allowed_at = start
                .saturating_add(cost.min(self.tolerance))
                .saturating_sub(self.tolerance);
            if allowed_at > now {
                return Err(RateLimitExceeded {
                    name: self.name.clone(),
                    retry_after: Duration::from_nanos(allowed_at - now),
                });
            }
            let next = start.saturating_add(cost);
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(actual) => tat = actual,
            }
        }
    }

    /// Takes `n` units whatever the quota says, possibly into debt that later
    /// requests wait out: for usage known only after the fact.
    pub fn charge(&self, n: u64) {
        let cost = self.cost(n);
        let now = self.now();
        self.update(|tat| tat.max(now).saturating_add(cost));
    }

    /// Gives back `n` units taken earlier (an estimate that was too high, a
    /// request that was not sent). The limiter never rests beyond full.
    pub fn refund(&self, n: u64) {
        let cost = self.cost(n);
        self.update(|tat| tat.saturating_sub(cost));
    }

    /// About how many units could be taken now; 0 while in debt.
    pub fn available(&self) -> u64 {
        let used = self.tat.load(Ordering::Acquire).saturating_sub(self.now());
        self.tolerance.saturating_sub(used) / self.unit
    }

    fn cost(&self, n: u64) -> u64 {
        n.saturating_mul(self.unit)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn update(&self, step: impl Fn(u64) -> u64) {
        // The closure always returns `Some`, so this cannot fail.
        let _ = self
            .tat
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tat| Some(step(tat)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn state_is_the_theoretical_arrival_time() {
        let limiter = RateLimiter::new("t", Quota::per_second(10));
        limiter.try_acquire(3).expect("within burst");
        assert_eq!(limiter.tat.load(Ordering::Relaxed), 300_000_000);
        limiter.refund(5);
        assert_eq!(limiter.tat.load(Ordering::Relaxed), 0);
        assert_eq!(limiter.available(), 10);
    }
}
