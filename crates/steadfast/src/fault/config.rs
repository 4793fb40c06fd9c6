//! What the fault injector injects, and its run-time adjustable storage.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use crate::FailureKind;

/// What to inject and how often. Rates are probabilities per call in
/// `[0, 1]` (out-of-range values are clamped, NaN is 0).
///
/// Latency is decided first and independently; then at most one of error,
/// hang (timeout) and rate limit is chosen from a single draw, so each happens
/// at exactly its rate. If those three rates add up to more than 1, the later
/// ones get what is left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    /// Extra latency: the rate, and how long to wait before the call.
    pub latency: Option<(f64, Duration)>,
    /// The rate of injected errors.
    pub error_rate: f64,
    /// The kind of the injected errors (default transient).
    pub error_kind: FailureKind,
    /// The rate of hangs: the call never answers, until the caller's timeout
    /// drops it.
    pub timeout_rate: f64,
    /// The rate of injected rate-limit failures.
    pub rate_limit_rate: f64,
    /// The retry-after hint of injected rate-limit failures.
    pub retry_after: Option<Duration>,
    /// The seed of the random source; the same seed gives the same decisions.
    /// `None` seeds from entropy. Fixed once the injector is built.
    pub seed: Option<u64>,
}

impl Default for FaultConfig {
    fn default() -> FaultConfig {
        FaultConfig {
            latency: None,
            error_rate: 0.0,
            error_kind: FailureKind::Transient,
            timeout_rate: 0.0,
            rate_limit_rate: 0.0,
            retry_after: None,
            seed: None,
        }
    }
}

/// The configuration as atomics, so chaos tests can change it while calls run.
#[derive(Debug, Default)]
pub(super) struct Knobs {
    active: AtomicBool,
    latency_rate: AtomicRate,
    latency: AtomicU64,
    error_rate: AtomicRate,
    error_kind: AtomicU8,
    timeout_rate: AtomicRate,
    rate_limit_rate: AtomicRate,
    /// Nanoseconds; `u64::MAX` for no hint.
    retry_after: AtomicU64,
}

impl Knobs {
    /// Whether any rate is above zero: the one check an idle injector makes.
    pub(super) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Stores every field but the seed.
    pub(super) fn store(&self, config: &FaultConfig) {
        let (latency_rate, latency) = config.latency.unwrap_or_default();
        self.latency_rate.store(latency_rate);
        self.latency.store(nanos(latency), Ordering::Relaxed);
        self.error_rate.store(config.error_rate);
        self.error_kind
            .store(kind_index(config.error_kind), Ordering::Relaxed);
        self.timeout_rate.store(config.timeout_rate);
        self.rate_limit_rate.store(config.rate_limit_rate);
        let retry_after = config.retry_after.map_or(u64::MAX, nanos);
        self.retry_after.store(retry_after, Ordering::Relaxed);
        self.refresh();
    }

    /// Reads the configuration, with `seed` as given.
    pub(super) fn load(&self, seed: Option<u64>) -> FaultConfig {
        let latency_rate = self.latency_rate.load();
        let retry_after = self.retry_after.load(Ordering::Relaxed);
        FaultConfig {
            latency: (latency_rate > 0.0).then(|| {
                (
                    latency_rate,
                    Duration::from_nanos(self.latency.load(Ordering::Relaxed)),
                )
            }),
            error_rate: self.error_rate.load(),
            error_kind: FailureKind::ALL
                .get(usize::from(self.error_kind.load(Ordering::Relaxed)))
                .copied()
                .unwrap_or(FailureKind::Transient),
            timeout_rate: self.timeout_rate.load(),
            rate_limit_rate: self.rate_limit_rate.load(),
            retry_after: (retry_after != u64::MAX).then(|| Duration::from_nanos(retry_after)),
            seed,
        }
    }

    fn refresh(&self) {
        let active = [
            &self.latency_rate,
            &self.error_rate,
            &self.timeout_rate,
            &self.rate_limit_rate,
        ]
        .iter()
        .any(|rate| rate.load() > 0.0);
        self.active.store(active, Ordering::Release);
    }
}

/// An `f64` probability in an `AtomicU64`.
#[derive(Debug, Default)]
struct AtomicRate(AtomicU64);

impl AtomicRate {
    fn store(&self, rate: f64) {
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        self.0.store(rate.to_bits(), Ordering::Relaxed);
    }

    fn load(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX - 1)
}

fn kind_index(kind: FailureKind) -> u8 {
    let index = FailureKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(0);
    u8::try_from(index).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_the_atomics() {
        let knobs = Knobs::default();
        assert!(!knobs.is_active());
        let config = FaultConfig {
            latency: Some((0.25, Duration::from_millis(40))),
            error_rate: 0.1,
            error_kind: FailureKind::Overloaded,
            timeout_rate: 0.05,
            rate_limit_rate: 0.2,
            retry_after: Some(Duration::from_secs(3)),
            seed: Some(9),
        };
        knobs.store(&config);
        assert!(knobs.is_active());
        assert_eq!(knobs.load(Some(9)), config);
        knobs.store(&FaultConfig {
            error_rate: f64::NAN,
            timeout_rate: 7.0,
            ..FaultConfig::default()
        });
        let clamped = knobs.load(None);
        assert_eq!((clamped.error_rate, clamped.timeout_rate), (0.0, 1.0));
        knobs.store(&FaultConfig::default());
        assert!(!knobs.is_active());
    }
}
