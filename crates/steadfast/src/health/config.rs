//! Settings for active probing ([`ProbeConfig`]) and passive outlier ejection
//! ([`OutlierConfig`]), with the defaults of the gateway's config file.

use std::time::Duration;

/// The shortest probe interval accepted, so a zero interval cannot spin.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// How a target is probed: how often, how long a probe may take, and how many
/// results in a row change its status.
///
/// ```
/// use std::time::Duration;
/// use steadfast::health::ProbeConfig;
///
/// let config = ProbeConfig::default()
///     .interval(Duration::from_secs(10))
///     .timeout(Duration::from_secs(2))
///     .unhealthy_after(3);
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    pub(super) interval: Duration,
    pub(super) timeout: Duration,
    pub(super) unhealthy_after: u32,
    pub(super) healthy_after: u32,
    pub(super) initial_delay: Duration,
    pub(super) jitter: Duration,
}

impl Default for ProbeConfig {
    /// Every 30 s, 5 s timeout, unhealthy after 3 failures in a row, healthy
    /// after 1 success, first probe at once, no jitter.
    fn default() -> ProbeConfig {
        ProbeConfig {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            unhealthy_after: 3,
            healthy_after: 1,
            initial_delay: Duration::ZERO,
            jitter: Duration::ZERO,
        }
    }
}

impl ProbeConfig {
    /// Time from the start of one probe to the start of the next (at least 1 ms).
    pub fn interval(mut self, interval: Duration) -> ProbeConfig {
        self.interval = interval.max(MIN_INTERVAL);
        self
    }

    /// How long a probe may take; a slower probe counts as a failure.
    pub fn timeout(mut self, timeout: Duration) -> ProbeConfig {
        self.timeout = timeout;
        self
    }

    /// Consecutive failed probes that make the target unhealthy (at least 1);
    /// the `retries` of the gateway's `health_check` config.
    pub fn unhealthy_after(mut self, failures: u32) -> ProbeConfig {
        self.unhealthy_after = failures.max(1);
        self
    }

    /// Consecutive successful probes that make the target healthy (at least 1).
    pub fn healthy_after(mut self, successes: u32) -> ProbeConfig {
        self.healthy_after = successes.max(1);
        self
    }

    /// Wait before the first probe after registration.
    pub fn initial_delay(mut self, delay: Duration) -> ProbeConfig {
        self.initial_delay = delay;
        self
    }

    /// A random extra wait in `[0, jitter)` added before every probe, so many
    /// targets registered together do not probe in lockstep.
    pub fn jitter(mut self, jitter: Duration) -> ProbeConfig {
        self.jitter = jitter;
        self
    }
}

/// When live traffic ejects a target (outlier detection, as Envoy does).
///
/// After `consecutive_failures` failures in a row that
/// [count against the target](crate::FailureKind::counts_against_target), the
/// target is ejected for `base_ejection * multiplier^(n - 1)`, capped at
/// `max_ejection`, where `n` counts ejections since the target last stayed in
/// service for a full `max_ejection`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::health::OutlierConfig;
///
/// let config = OutlierConfig::default()
///     .consecutive_failures(5)
///     .base_ejection(Duration::from_secs(30))
///     .max_ejection(Duration::from_secs(300))
///     .multiplier(2.0);
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OutlierConfig {
    pub(super) consecutive_failures: u32,
    pub(super) base_ejection: Duration,
    pub(super) max_ejection: Duration,
    pub(super) multiplier: f64,
}

impl Default for OutlierConfig {
    /// Eject after 5 failures in a row, for 30 s doubling per repeat, at most 300 s.
    fn default() -> OutlierConfig {
        OutlierConfig {
            consecutive_failures: 5,
            base_ejection: Duration::from_secs(30),
            max_ejection: Duration::from_secs(300),
            multiplier: 2.0,
        }
    }
}

impl OutlierConfig {
    /// Outlier ejection turned off: live traffic never ejects the target.
    pub fn disabled() -> OutlierConfig {
        OutlierConfig::default().consecutive_failures(0)
    }

    /// Failures in a row that eject the target; `0` turns ejection off.
    pub fn consecutive_failures(mut self, failures: u32) -> OutlierConfig {
        self.consecutive_failures = failures;
        self
    }

    /// Length of the first ejection.
    pub fn base_ejection(mut self, duration: Duration) -> OutlierConfig {
        self.base_ejection = duration;
        self
    }

    /// Longest ejection, and the time in service after which the growth of
    /// ejections starts over.
    pub fn max_ejection(mut self, duration: Duration) -> OutlierConfig {
        self.max_ejection = duration;
        self
    }

    /// Growth factor of each repeated ejection (at least 1; NaN means 1).
    pub fn multiplier(mut self, multiplier: f64) -> OutlierConfig {
        self.multiplier = if multiplier >= 1.0 { multiplier } else { 1.0 };
        self
    }

    /// How long the `level`-th ejection in a row lasts (`level` from 1).
    pub(super) fn ejection(&self, level: u32) -> Duration {
        let exponent = i32::try_from(level.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.base_ejection.as_secs_f64() * self.multiplier.powi(exponent);
        Duration::try_from_secs_f64(secs)
            .unwrap_or(self.max_ejection)
            .min(self.max_ejection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ejection_grows_geometrically_and_is_capped() {
        let config = OutlierConfig::default()
            .base_ejection(Duration::from_secs(10))
            .max_ejection(Duration::from_secs(50))
            .multiplier(2.0);
        let secs: Vec<u64> = (1..=5).map(|n| config.ejection(n).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 50, 50]);
        assert_eq!(config.ejection(u32::MAX), Duration::from_secs(50));
    }

    #[test]
    fn multiplier_below_one_or_nan_means_constant() {
        let config = OutlierConfig::default().multiplier(f64::NAN);
        assert_eq!(config.ejection(4), Duration::from_secs(30));
        let config = OutlierConfig::default().multiplier(0.5);
        assert_eq!(config.ejection(4), Duration::from_secs(30));
    }

    #[test]
    fn zero_counts_are_raised_to_one() {
        let config = ProbeConfig::default()
            .interval(Duration::ZERO)
            .unhealthy_after(0)
            .healthy_after(0);
        assert_eq!(config.interval, MIN_INTERVAL);
        assert_eq!((config.unhealthy_after, config.healthy_after), (1, 1));
    }
}
