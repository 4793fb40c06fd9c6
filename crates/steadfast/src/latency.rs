//! A lock-free rolling latency tracker: percentiles of the recent past and an
//! exponentially weighted moving average (EWMA).
//!
//! Latencies go into log-scale buckets of `AtomicU64` (each 10 % wider than the
//! last, from 1 µs to about 10 minutes, so a percentile is within about 5 % of
//! the true value). Buckets live in [`GENERATIONS`] generations rotated by
//! time: a percentile reads the last `GENERATIONS - 1` of them, which cover
//! between two thirds of the window and the whole window, while the next
//! generation is cleared ahead of use. Hedging uses it for its percentile
//! delay, the weighted strategy and the dashboard for p50 and p99.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::latency::LatencyTracker;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let tracker = LatencyTracker::new(Duration::from_secs(30)).with_min_samples(10);
//! assert_eq!(tracker.percentile(0.5), None);
//! for ms in 1..=100 {
//!     tracker.record(Duration::from_millis(ms));
//! }
//! let p50 = tracker.percentile(0.5).unwrap_or_default();
//! assert!(p50 > Duration::from_millis(47) && p50 < Duration::from_millis(53));
//! # }
//! ```

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// How many generations of buckets rotate; percentiles read all but one.
pub const GENERATIONS: usize = 4;

/// Each bucket is this much wider than the one before.
const GROWTH: f64 = 1.1;
/// Enough buckets to reach 10 minutes from 1 µs: `ln(6e8) / ln(1.1) ≈ 212.1`.
const BUCKETS: usize = 214;
/// Tag of a generation that holds no epoch yet.
const EMPTY: u64 = u64::MAX - 1;
/// Tag of a generation being cleared; writers skip it, readers ignore it.
const CLEARING: u64 = u64::MAX;
/// The EWMA before its first sample.
const NO_EWMA: u64 = u64::MAX;

/// Rolling latency percentiles and EWMA. Share it behind an `Arc`.
#[derive(Debug)]
pub struct LatencyTracker {
    start: Instant,
    slot: Duration,
    min_samples: u64,
    alpha: f64,
    generations: [Generation; GENERATIONS],
    ewma_nanos: AtomicU64,
}

#[derive(Debug)]
struct Generation {
    epoch: AtomicU64,
    count: AtomicU64,
    /// Allocated on the first sample: a tracker that never records (a model
    /// with no traffic) costs a few words, not 1.7 KiB per generation.
    buckets: OnceLock<Box<[AtomicU64]>>,
}

impl Generation {
    fn new() -> Generation {
        Generation {
            epoch: AtomicU64::new(EMPTY),
            count: AtomicU64::new(0),
            buckets: OnceLock::new(),
        }
    }

    /// The buckets, allocated now if they were not.
    fn buckets(&self) -> &[AtomicU64] {
        self.buckets
            .get_or_init(|| (0..BUCKETS).map(|_| AtomicU64::new(0)).collect())
    }

    /// The buckets if allocated, else none.
    fn allocated(&self) -> &[AtomicU64] {
        self.buckets.get().map_or(&[], |buckets| buckets)
    }

    /// Makes this generation hold `epoch`, clearing it if it held an older one.
    /// `false` while another thread is clearing it.
    fn claim(&self, epoch: u64) -> bool {
        let tag = self.epoch.load(Ordering::Acquire);
        if tag == epoch {
            return true;
        }
        if tag == CLEARING
            || self
                .epoch
                .compare_exchange(tag, CLEARING, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return self.epoch.load(Ordering::Acquire) == epoch;
        }
        for bucket in self.allocated() {
            bucket.store(0, Ordering::Relaxed);
        }
        self.count.store(0, Ordering::Relaxed);
        self.epoch.store(epoch, Ordering::Release);
        true
    }
}

impl LatencyTracker {
    /// A tracker whose percentiles reflect roughly the last `window` (at least
    /// 3 ms), needing 10 samples, with an EWMA weight of 0.2 per sample.
    pub fn new(window: Duration) -> LatencyTracker {
        let slot = (window / (GENERATIONS as u32 - 1)).max(Duration::from_millis(1));
        LatencyTracker {
            start: Instant::now(),
            slot,
            min_samples: 10,
            alpha: 0.2,
            generations: std::array::from_fn(|_| Generation::new()),
            ewma_nanos: AtomicU64::new(NO_EWMA),
        }
    }

    /// Percentiles are `None` until the window holds `min_samples` samples (at least 1).
    pub fn with_min_samples(mut self, min_samples: u64) -> LatencyTracker {
        self.min_samples = min_samples.max(1);
        self
    }

    /// The weight of each new sample in the EWMA, clamped to `(0, 1]`.
    pub fn with_ewma_alpha(mut self, alpha: f64) -> LatencyTracker {
        self.alpha = if alpha > 0.0 { alpha.min(1.0) } else { 0.2 };
        self
    }

    /// Records one latency.
    pub fn record(&self, latency: Duration) {
        let epoch = self.epoch();
        let generation = &self.generations[epoch as usize % GENERATIONS];
        if generation.claim(epoch) {
            generation.buckets()[bucket_of(latency)].fetch_add(1, Ordering::Relaxed);
            generation.count.fetch_add(1, Ordering::Relaxed);
        }
        // Clear the next generation now, long before anyone writes into it.
        self.generations[(epoch + 1) as usize % GENERATIONS].claim(epoch + 1);
        self.update_ewma(latency);
    }

    /// Samples in the window.
    pub fn count(&self) -> u64 {
        self.readable()
            .map(|generation| generation.count.load(Ordering::Relaxed))
            .sum()
    }

    /// The latency below which a fraction `q` (clamped to `[0, 1]`) of the
    /// window's samples fall; `None` with fewer than the minimum samples.
    pub fn percentile(&self, q: f64) -> Option<Duration> {
        let mut totals = [0u64; BUCKETS];
        for generation in self.readable() {
            for (total, bucket) in totals.iter_mut().zip(generation.allocated()) {
                *total += bucket.load(Ordering::Relaxed);
            }
        }
        let count: u64 = totals.iter().sum();
        if count < self.min_samples {
            return None;
        }
        let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
        let mut seen = 0;
        totals
            .iter()
            .position(|&total| {
                seen += total;
                seen >= rank
            })
            .map(value_of)
    }

    /// The exponentially weighted moving average of every latency recorded;
    /// `None` before the first.
    pub fn ewma(&self) -> Option<Duration> {
        match self.ewma_nanos.load(Ordering::Relaxed) {
            NO_EWMA => None,
            bits => Some(Duration::from_nanos(f64::from_bits(bits) as u64)),
        }
    }

    fn update_ewma(&self, latency: Duration) {
        let sample = latency.as_nanos() as f64;
        let _ = self
            .ewma_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                let next = match bits {
                    NO_EWMA => sample,
                    bits => {
                        let old = f64::from_bits(bits);
                        old + self.alpha * (sample - old)
                    }
                };
                Some(next.to_bits())
            });
    }

    fn epoch(&self) -> u64 {
        (self.start.elapsed().as_nanos() / self.slot.as_nanos()) as u64
    }

    /// The generations of the last `GENERATIONS - 1` epochs.
    fn readable(&self) -> impl Iterator<Item = &Generation> {
        let epoch = self.epoch();
        self.generations.iter().filter(move |generation| {
            let tag = generation.epoch.load(Ordering::Acquire);
            tag <= epoch && epoch - tag < GENERATIONS as u64 - 1
        })
    }
}

/// The bucket holding `latency`: bucket `i` holds `[1.1^i, 1.1^(i+1))` µs;
/// shorter latencies go to the first bucket, longer to the last.
fn bucket_of(latency: Duration) -> usize {
    let micros = latency.as_secs_f64() * 1e6;
    if micros < GROWTH {
        return 0;
    }
    ((micros.ln() / GROWTH.ln()) as usize).min(BUCKETS - 1)
}

/// The value reported for bucket `index`: the geometric middle of its range.
fn value_of(index: usize) -> Duration {
    let micros = GROWTH.powf(index as f64 + 0.5);
    Duration::from_nanos((micros * 1e3) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_allocated_by_the_first_sample_only() {
        let tracker = LatencyTracker::new(Duration::from_secs(60)).with_min_samples(1);
        let allocated = |t: &LatencyTracker| {
            t.generations
                .iter()
                .filter(|g| g.buckets.get().is_some())
                .count()
        };
        assert_eq!((tracker.percentile(0.5), tracker.count()), (None, 0));
        assert_eq!(allocated(&tracker), 0);
        tracker.record(Duration::from_millis(5));
        assert_eq!(allocated(&tracker), 1);
        let p50 = tracker.percentile(0.5).unwrap();
        assert!(p50 > Duration::from_micros(4_700) && p50 < Duration::from_micros(5_300));
    }

    #[test]
    fn buckets_stay_within_ten_percent() {
        for micros in [1u64, 7, 100, 1_234, 99_999, 5_000_000, 599_000_000] {
            let latency = Duration::from_micros(micros);
            let reported = value_of(bucket_of(latency)).as_secs_f64();
            let error = (reported - latency.as_secs_f64()).abs() / latency.as_secs_f64();
            assert!(error < 0.06, "{micros} µs reported as {reported} s");
        }
        assert_eq!(bucket_of(Duration::ZERO), 0);
        assert_eq!(bucket_of(Duration::from_secs(3600)), BUCKETS - 1);
        assert!(value_of(BUCKETS - 1) >= Duration::from_secs(600));
    }
}
