//! Adaptive per-target weights for the [`Weighted`](super::Weighted) strategy,
//! kept in atomics so every request reads them without a lock.
//!
//! A target's effective weight is `base × success⁴ × latency × ramp`:
//! - `success`: the EWMA of its outcomes (1 for a success, 0 for a failure that
//!   [counts against the target](crate::FailureKind::counts_against_target)),
//!   starting at 1, raised to the [`FAILURE_PENALTY`] power so that a degraded
//!   target loses its traffic fast: failing 10% of calls keeps 66% of its
//!   weight, failing half of them keeps 6%;
//! - `latency`: the fastest target's latency EWMA divided by its own (1 for the
//!   fastest and for targets without a sample; latencies under 1 ms count as 1 ms);
//! - `ramp`: after [`readmitted`](TargetWeights::readmitted), grows linearly
//!   from [`MIN_RAMP`] to 1 over the slow-start duration, so a recovered target
//!   gets traffic back gradually.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::Outcome;

/// The power the success rate is raised to in the effective weight.
pub const FAILURE_PENALTY: i32 = 4;

/// The ramp of a target just readmitted.
pub const MIN_RAMP: f64 = 0.1;

/// Latencies under this count as this, so instant answers do not dwarf the rest.
const LATENCY_FLOOR_NANOS: f64 = 1e6;
/// The bits of an EWMA without a sample (a NaN that arithmetic never yields).
const NO_SAMPLE: u64 = u64::MAX;

/// The adaptive weights of a list of targets, by index. Share it behind an `Arc`.
#[derive(Debug)]
pub struct TargetWeights {
    origin: Instant,
    alpha: f64,
    slow_start: Duration,
    targets: Box<[TargetState]>,
}

#[derive(Debug)]
struct TargetState {
    base: f64,
    success: Ewma,
    latency_nanos: Ewma,
    /// Nanoseconds from `origin` to the last readmission, plus one; 0 for never.
    readmitted_at: AtomicU64,
}

/// An exponentially weighted moving average in an atomic.
#[derive(Debug)]
struct Ewma(AtomicU64);

impl Ewma {
    fn new(value: Option<f64>) -> Ewma {
        Ewma(AtomicU64::new(value.map_or(NO_SAMPLE, f64::to_bits)))
    }

    fn get(&self) -> Option<f64> {
        match self.0.load(Ordering::Relaxed) {
            NO_SAMPLE => None,
            bits => Some(f64::from_bits(bits)),
        }
    }

    fn set(&self, value: Option<f64>) {
        self.0
            .store(value.map_or(NO_SAMPLE, f64::to_bits), Ordering::Relaxed);
    }

    fn update(&self, sample: f64, alpha: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                let next = match bits {
                    NO_SAMPLE => sample,
                    bits => {
                        let old = f64::from_bits(bits);
                        old + alpha * (sample - old)
                    }
                };
                Some(next.to_bits())
            });
    }
}

/// One target's weight and its factors, for dashboards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightSnapshot {
    /// The configured weight.
    pub base: f64,
    /// The success EWMA, in `[0, 1]`.
    pub success_rate: f64,
    /// The latency EWMA of successful calls; `None` before the first.
    pub latency: Option<Duration>,
    /// The latency factor, in `(0, 1]`.
    pub latency_score: f64,
    /// The slow-start factor, in `[MIN_RAMP, 1]`.
    pub ramp: f64,
    /// `base × success_rate⁴ × latency_score × ramp` (availability not included).
    pub effective: f64,
}

impl TargetWeights {
    /// Weights for targets with these base weights, in target order (negative
    /// or non-finite ones count as 0). Defaults: EWMA weight 0.1 per sample,
    /// slow start over 30 s.
    pub fn new(base: impl IntoIterator<Item = f64>) -> TargetWeights {
        let targets = base
            .into_iter()
            .map(|base| TargetState {
                base: if base.is_finite() { base.max(0.0) } else { 0.0 },
                success: Ewma::new(Some(1.0)),
                latency_nanos: Ewma::new(None),
                readmitted_at: AtomicU64::new(0),
            })
            .collect();
        TargetWeights {
            origin: Instant::now(),
            alpha: 0.1,
            slow_start: Duration::from_secs(30),
            targets,
        }
    }

    /// The weight of each new sample in the EWMAs, clamped to `(0, 1]`.
    pub fn with_alpha(mut self, alpha: f64) -> TargetWeights {
        if alpha > 0.0 {
            self.alpha = alpha.min(1.0);
        }
        self
    }

    /// How long a readmitted target takes to ramp back to its full weight.
    pub fn with_slow_start(mut self, slow_start: Duration) -> TargetWeights {
        self.slow_start = slow_start;
        self
    }

    /// How many targets have weights.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether no target has a weight.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Records the outcome of a call to target `index` and, for a success, its
    /// latency. Failures that do not count against the target change nothing;
    /// an unknown index is ignored.
    pub fn record(&self, index: usize, outcome: Outcome, latency: Duration) {
        let Some(target) = self.targets.get(index) else {
            return;
        };
        match outcome {
            Outcome::Success => {
                target.success.update(1.0, self.alpha);
                target
                    .latency_nanos
                    .update(latency.as_nanos() as f64, self.alpha);
            }
            Outcome::Failure(failure) if failure.kind.counts_against_target() => {
                target.success.update(0.0, self.alpha);
            }
            Outcome::Failure(_) => {}
        }
    }

    /// Marks target `index` as back in service (its breaker closed, its health
    /// recovered): its success and latency history restart, and its weight
    /// ramps up from [`MIN_RAMP`] over the slow-start duration.
    pub fn readmitted(&self, index: usize) {
        let Some(target) = self.targets.get(index) else {
            return;
        };
        target.success.set(Some(1.0));
        target.latency_nanos.set(None);
        let now = self.origin.elapsed().as_nanos();
        target.readmitted_at.store(
            u64::try_from(now).unwrap_or(u64::MAX - 1) + 1,
            Ordering::Relaxed,
        );
    }

    /// Every target's weight and factors now.
    pub fn weights(&self) -> Vec<WeightSnapshot> {
        let now = self.origin.elapsed();
        let fastest = self
            .targets
            .iter()
            .filter_map(|target| target.latency_nanos.get())
            .fold(f64::INFINITY, f64::min)
            .max(LATENCY_FLOOR_NANOS);
        self.targets
            .iter()
            .map(|target| {
                let success_rate = target.success.get().unwrap_or(1.0).clamp(0.0, 1.0);
                let latency = target.latency_nanos.get();
                let latency_score =
                    latency.map_or(1.0, |own| fastest / own.max(LATENCY_FLOOR_NANOS));
                let ramp = self.ramp(target, now);
                WeightSnapshot {
                    base: target.base,
                    success_rate,
                    latency: latency.map(|nanos| Duration::from_nanos(nanos as u64)),
                    latency_score,
                    ramp,
                    effective: target.base
                        * success_rate.powi(FAILURE_PENALTY)
                        * latency_score
                        * ramp,
                }
            })
            .collect()
    }

    fn ramp(&self, target: &TargetState, now: Duration) -> f64 {
        let at = target.readmitted_at.load(Ordering::Relaxed);
        if at == 0 || self.slow_start.is_zero() {
            return 1.0;
        }
        let since = now.saturating_sub(Duration::from_nanos(at - 1));
        (since.as_secs_f64() / self.slow_start.as_secs_f64()).clamp(MIN_RAMP, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FailureKind;

    #[tokio::test(start_paused = true)]
    async fn factors_multiply() {
        let weights = TargetWeights::new([2.0, 1.0, f64::NAN])
            .with_alpha(0.5)
            .with_slow_start(Duration::from_secs(10));
        weights.record(0, Outcome::Success, Duration::from_millis(10));
        weights.record(1, Outcome::Success, Duration::from_millis(40));
        weights.record(1, FailureKind::Timeout.into(), Duration::from_secs(1));
        weights.record(1, FailureKind::InvalidRequest.into(), Duration::ZERO);
        weights.record(9, Outcome::Success, Duration::ZERO);
        let snapshot = weights.weights();
        assert_eq!(snapshot[0].effective, 2.0);
        assert_eq!(snapshot[1].success_rate, 0.5);
        assert_eq!(snapshot[1].latency_score, 0.25);
        assert_eq!(snapshot[1].effective, 0.5f64.powi(FAILURE_PENALTY) * 0.25);
        assert_eq!(snapshot[2].effective, 0.0);

        weights.readmitted(1);
        assert_eq!(weights.weights()[1].effective, MIN_RAMP);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(weights.weights()[1].ramp, 0.5);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(weights.weights()[1].effective, 1.0);
    }
}
