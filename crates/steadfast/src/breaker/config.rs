//! Breaker configuration: a plain struct with defaults, its validation, and
//! the open-duration arithmetic.

use std::time::Duration;

/// The largest count window, in calls.
pub const MAX_COUNT_WINDOW: u32 = 1 << 20;
/// The most buckets a time window may have.
pub const MAX_BUCKETS: u32 = 1024;
/// The most concurrent half-open probes.
pub const MAX_HALF_OPEN_CALLS: u32 = u16::MAX as u32;

/// How a circuit breaker configures itself. Plain data with [`Default`]s; the
/// gateway fills it from its YAML keys of the same names.
///
/// [`Breaker::new`](super::Breaker::new) clamps out-of-range values into range;
/// call [`BreakerConfig::validate`] first to refuse them instead.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Failure rate (0, 1] at or above which the breaker trips. Default 0.5.
    pub failure_rate: f64,
    /// Calls the window must hold before rates are judged. Default 10
    /// (capped at the size of a count window).
    pub min_calls: u32,
    /// Which calls the rates are computed over. Default the last 100 calls.
    pub window: SlidingWindow,
    /// How long the breaker stays open after a trip. Default 30 s.
    pub open_for: Duration,
    /// Factor applied to `open_for` for every further trip without a
    /// successful close in between (1.0 = constant). Default 1.0.
    pub open_for_multiplier: f64,
    /// Upper bound on the grown open duration. Default none.
    pub max_open_for: Option<Duration>,
    /// Concurrent probe calls let through while half-open; as many successes
    /// close the breaker. Default 1.
    pub half_open_calls: u32,
    /// Trip right away after this many counted failures in a row. Default none.
    pub consecutive_failures: Option<u32>,
    /// Calls that take at least this long are slow. Default none (no slow-call
    /// tracking, and no clock read per call).
    pub slow_call_duration: Option<Duration>,
    /// Slow-call rate (0, 1] at or above which the breaker trips, when
    /// `slow_call_duration` is set. Default 1.0.
    pub slow_call_rate: f64,
}

impl Default for BreakerConfig {
    fn default() -> BreakerConfig {
        BreakerConfig {
            failure_rate: 0.5,
            min_calls: 10,
            window: SlidingWindow::Count(100),
            open_for: Duration::from_secs(30),
            open_for_multiplier: 1.0,
            max_open_for: None,
            half_open_calls: 1,
            consecutive_failures: None,
            slow_call_duration: None,
            slow_call_rate: 1.0,
        }
    }
}

/// The calls a breaker's rates are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlidingWindow {
    /// The last N calls.
    Count(u32),
    /// The calls of the last `length`, kept in `buckets` buckets of
    /// `length / buckets` each. Whole buckets expire, so the window spans
    /// between `length - length / buckets` and `length`.
    Time {
        /// The span of the window.
        length: Duration,
        /// How many buckets the span is split into.
        buckets: u32,
    },
}

impl SlidingWindow {
    /// Buckets of a time window made by [`SlidingWindow::time`].
    pub const DEFAULT_BUCKETS: u32 = 10;

    /// A time window of `length` in [`DEFAULT_BUCKETS`](Self::DEFAULT_BUCKETS) buckets.
    pub const fn time(length: Duration) -> SlidingWindow {
        SlidingWindow::Time {
            length,
            buckets: SlidingWindow::DEFAULT_BUCKETS,
        }
    }
}

/// A configuration value out of range: which key, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct InvalidBreakerConfig {
    /// The offending key, as in the YAML config.
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl BreakerConfig {
    /// Checks every value, naming the first one out of range.
    pub fn validate(&self) -> Result<(), InvalidBreakerConfig> {
        let fail = |key, reason| Err(InvalidBreakerConfig { key, reason });
        let is_rate = |rate: f64| rate > 0.0 && rate <= 1.0;
        if !is_rate(self.failure_rate) {
            return fail("failure_rate", "must be in (0, 1]");
        }
        if self.slow_call_duration.is_some() && !is_rate(self.slow_call_rate) {
            return fail("slow_call_rate", "must be in (0, 1]");
        }
        match self.window {
            SlidingWindow::Count(size) if size == 0 || size > MAX_COUNT_WINDOW => {
                return fail("window", "a count window holds 1 to 1048576 calls");
            }
            SlidingWindow::Time { length, .. } if length.is_zero() => {
                return fail("window", "must be longer than zero");
            }
            SlidingWindow::Time { buckets, .. } if buckets == 0 || buckets > MAX_BUCKETS => {
                return fail("window", "a time window has 1 to 1024 buckets");
            }
            _ => {}
        }
        if self.half_open_calls == 0 || self.half_open_calls > MAX_HALF_OPEN_CALLS {
            return fail("half_open_calls", "must be 1 to 65535");
        }
        if self.consecutive_failures == Some(0) {
            return fail("consecutive_failures", "must be at least 1");
        }
        if !(self.open_for_multiplier.is_finite() && self.open_for_multiplier >= 1.0) {
            return fail("open_for_multiplier", "must be a finite number >= 1");
        }
        if self.max_open_for.is_some_and(|max| max < self.open_for) {
            return fail("max_open_for", "must not be shorter than open_for");
        }
        Ok(())
    }

    /// The same configuration with every value forced into range. A rate
    /// above 1 (a percentage, as Resilience4j takes it) becomes 1, one at or
    /// below 0 the smallest rate (any failure trips, once `min_calls` are
    /// in), one that is not a number the default; each such change is
    /// logged, as it is likely a mistake.
    pub(crate) fn normalized(mut self) -> BreakerConfig {
        let defaults = BreakerConfig::default();
        self.failure_rate = clamp_rate("failure_rate", self.failure_rate, defaults.failure_rate);
        self.slow_call_rate = clamp_rate(
            "slow_call_rate",
            self.slow_call_rate,
            defaults.slow_call_rate,
        );
        self.window = match self.window {
            SlidingWindow::Count(size) => SlidingWindow::Count(size.clamp(1, MAX_COUNT_WINDOW)),
            SlidingWindow::Time { length, buckets } => SlidingWindow::Time {
                length: length.max(Duration::from_nanos(1)),
                buckets: buckets.clamp(1, MAX_BUCKETS),
            },
        };
        self.half_open_calls = self.half_open_calls.clamp(1, MAX_HALF_OPEN_CALLS);
        self.consecutive_failures = self.consecutive_failures.map(|n| n.max(1));
        if !(self.open_for_multiplier.is_finite() && self.open_for_multiplier >= 1.0) {
            self.open_for_multiplier = 1.0;
        }
        self.max_open_for = self.max_open_for.map(|max| max.max(self.open_for));
        self
    }

    /// How long the `streak`-th trip in a row (counting from 1) keeps the
    /// breaker open: `open_for * multiplier^(streak - 1)`, capped.
    pub(crate) fn open_duration(&self, streak: u32) -> Duration {
        let cap = self.max_open_for.unwrap_or(Duration::MAX);
        if self.open_for_multiplier <= 1.0 || streak <= 1 {
            return self.open_for.min(cap);
        }
        let exponent = i32::try_from(streak - 1).unwrap_or(i32::MAX);
        let secs = self.open_for.as_secs_f64() * self.open_for_multiplier.powi(exponent);
        Duration::try_from_secs_f64(secs).map_or(cap, |grown| grown.min(cap))
    }
}

/// `rate` forced into (0, 1]: `default` when it is not a number.
fn clamp_rate(key: &str, rate: f64, default: f64) -> f64 {
    let clamped = if rate.is_nan() {
        default
    } else {
        rate.clamp(f64::MIN_POSITIVE, 1.0)
    };
    if clamped != rate {
        tracing::warn!(
            key,
            given = rate,
            used = clamped,
            "a circuit breaker rate outside (0, 1] was clamped (rates are fractions: 0.5 is 50%)"
        );
    }
    clamped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(BreakerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn validation_names_the_key() {
        let config = BreakerConfig {
            failure_rate: 1.5,
            ..BreakerConfig::default()
        };
        assert_eq!(config.validate().map_err(|e| e.key), Err("failure_rate"));
        let config = BreakerConfig {
            window: SlidingWindow::Count(0),
            ..BreakerConfig::default()
        };
        assert_eq!(
            config.validate().map_err(|e| e.to_string()),
            Err("window: a count window holds 1 to 1048576 calls".to_owned())
        );
        let config = BreakerConfig {
            max_open_for: Some(Duration::from_secs(1)),
            ..BreakerConfig::default()
        };
        assert_eq!(config.validate().map_err(|e| e.key), Err("max_open_for"));
    }

    #[test]
    fn open_duration_grows_and_caps() {
        let config = BreakerConfig {
            open_for: Duration::from_secs(10),
            open_for_multiplier: 2.0,
            max_open_for: Some(Duration::from_secs(35)),
            ..BreakerConfig::default()
        };
        let durations: Vec<u64> = (1..=5)
            .map(|streak| config.open_duration(streak).as_secs())
            .collect();
        assert_eq!(durations, [10, 20, 35, 35, 35]);
        let unbounded = BreakerConfig {
            max_open_for: None,
            ..config
        };
        assert_eq!(unbounded.open_duration(u32::MAX), Duration::MAX);
    }
}
