//! How much a rate limiter lets through.

use std::time::Duration;

/// `amount` units per `interval`, with bursts of up to `burst` units.
///
/// Units are what the limiter counts: requests, or model tokens. A quota of
/// 500 per minute with a burst of 500 lets 500 requests through at once, then
/// one every 120 ms. An `amount` or `burst` of 0 is taken as 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Units allowed per interval, on average.
    pub amount: u64,
    /// The interval over which `amount` is allowed.
    pub interval: Duration,
    /// Units that may be taken at once after a quiet period.
    pub burst: u64,
}

impl Quota {
    /// `amount` units per `interval`, with a burst of `amount`.
    pub const fn new(amount: u64, interval: Duration) -> Quota {
        Quota {
            amount,
            interval,
            burst: amount,
        }
    }

    /// `amount` units per second, with a burst of `amount`.
    pub const fn per_second(amount: u64) -> Quota {
        Quota::new(amount, Duration::from_secs(1))
    }

    /// `amount` units per minute, with a burst of `amount`.
    pub const fn per_minute(amount: u64) -> Quota {
        Quota::new(amount, Duration::from_secs(60))
    }

    /// The same rate with a burst of `burst` units.
    pub const fn with_burst(self, burst: u64) -> Quota {
        Quota { burst, ..self }
    }

    /// Nanoseconds that one unit costs: the interval over the amount, rounded
    /// up so that the limiter never lets more than the quota through.
    pub(super) fn unit_nanos(&self) -> u64 {
        let interval = self.interval.as_nanos();
        let amount = u128::from(self.amount.max(1));
        let unit = interval.div_ceil(amount).max(1);
        u64::try_from(unit).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_cost_rounds_up_and_is_never_zero() {
        assert_eq!(Quota::per_minute(500).unit_nanos(), 120_000_000);
        assert_eq!(Quota::per_minute(200_000).unit_nanos(), 300_000);
        assert_eq!(Quota::per_second(3).unit_nanos(), 333_333_334);
        assert_eq!(Quota::new(10, Duration::ZERO).unit_nanos(), 1);
        assert_eq!(Quota::per_second(0).unit_nanos(), 1_000_000_000);
    }
}
