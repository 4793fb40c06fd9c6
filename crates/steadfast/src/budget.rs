//! Retry budget: caps the extra load that retries (and hedges) add, as a ratio
//! of first attempts over a sliding window, as in tower, Envoy and Finagle.
//!
//! Every first attempt [deposits](Budget::deposit); every retry must
//! [withdraw](Budget::try_withdraw). A withdrawal succeeds only while the
//! withdrawals in the window, this one included, stay within
//! `min_per_sec * window_secs + ratio * deposits_in_window`. The floor lets a
//! quiet client retry at all; the ratio keeps a busy one from turning an outage
//! into a retry storm.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::budget::Budget;
//!
//! // 20 % extra load, no floor, over 10 s.
//! let budget = Budget::new(0.2, 0.0, Duration::from_secs(10));
//! for _ in 0..10 {
//!     budget.deposit();
//! }
//! assert!(budget.try_withdraw());
//! assert!(budget.try_withdraw());
//! assert!(!budget.try_withdraw());
//! ```
//!
//! The window is split into [`BUCKETS`] buckets tagged with their epoch, so old
//! buckets expire without a timer and every operation is lock-free.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// How many buckets a window is split into.
pub const BUCKETS: usize = 10;

/// Fixed-point scale for the ratio and the floor, so sums are exact.
const SCALE: u128 = 1_000_000;

/// A shareable retry budget. Cheap to clone; clones share the same account.
#[derive(Debug, Clone)]
pub struct Budget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Withdrawals allowed per deposit, times [`SCALE`].
    ratio: u128,
    /// Withdrawals allowed per window without deposits, times [`SCALE`].
    floor: u128,
    bucket_width: Duration,
    start: Instant,
    deposits: [TaggedCounter; BUCKETS],
    withdrawals: [TaggedCounter; BUCKETS],
}

/// A count in its low 32 bits tagged with the epoch (bucket number) it belongs
/// to in its high 32 bits, so a stale bucket reads as zero and is reset by the
/// first writer of the new epoch in the same atomic step.
#[derive(Debug, Default)]
struct TaggedCounter(AtomicU64);

impl TaggedCounter {
    fn count_at(&self, epoch: u32) -> u64 {
        let value = self.0.load(Ordering::Acquire);
        if (value >> 32) as u32 == epoch {
            value & u64::from(u32::MAX)
        } else {
            0
        }
    }

    /// Adds one in `epoch` when `allow(count_before)` agrees; returns whether it did.
    fn increment_if(&self, epoch: u32, allow: impl Fn(u64) -> bool) -> bool {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let count = if (current >> 32) as u32 == epoch {
                current & u64::from(u32::MAX)
            } else {
                0
            };
            if !allow(count) || count == u64::from(u32::MAX) {
                return false;
            }
            let next = (u64::from(epoch) << 32) | (count + 1);
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }
}

/// What a budget holds right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSnapshot {
    /// First attempts in the window.
    pub deposits: u64,
    /// Successful withdrawals (retries, hedges) in the window.
    pub withdrawals: u64,
    /// How many more withdrawals would succeed now.
    pub remaining: u64,
}

impl Budget {
    /// A budget allowing `ratio` withdrawals per deposit plus `min_per_sec`
    /// withdrawals per second regardless of deposits, over a sliding `window`.
    ///
    /// Negative or non-finite `ratio` and `min_per_sec` count as zero; the
    /// window is at least [`BUCKETS`] milliseconds.
    pub fn new(ratio: f64, min_per_sec: f64, window: Duration) -> Budget {
        let window = window.max(Duration::from_millis(BUCKETS as u64));
        let floor = fixed(min_per_sec * window.as_secs_f64());
        Budget {
            inner: Arc::new(Inner {
                ratio: fixed(ratio),
                floor,
                bucket_width: window / BUCKETS as u32,
                start: Instant::now(),
                deposits: Default::default(),
                withdrawals: Default::default(),
            }),
        }
    }

    /// Records a first attempt.
    pub fn deposit(&self) {
        let (epoch, slot) = self.inner.position();
        self.inner.deposits[slot].increment_if(epoch, |_| true);
    }

    /// Takes one retry from the budget; `false` when the budget is spent.
    pub fn try_withdraw(&self) -> bool {
        let inner = &self.inner;
        let (epoch, slot) = inner.position();
        let deposits = inner.sum(&inner.deposits, epoch, 0);
        let limit = inner.floor + inner.ratio * u128::from(deposits);
        let others = inner.sum(&inner.withdrawals, epoch, 1);
        inner.withdrawals[slot]
            .increment_if(epoch, |own| u128::from(others + own + 1) * SCALE <= limit)
    }

    /// The deposits, withdrawals and remaining allowance in the window now.
    pub fn snapshot(&self) -> BudgetSnapshot {
        let inner = &self.inner;
        let (epoch, _) = inner.position();
        let deposits = inner.sum(&inner.deposits, epoch, 0);
        let withdrawals = inner.sum(&inner.withdrawals, epoch, 0);
        let allowed = (inner.floor + inner.ratio * u128::from(deposits)) / SCALE;
        let remaining = u64::try_from(allowed)
            .unwrap_or(u64::MAX)
            .saturating_sub(withdrawals);
        BudgetSnapshot {
            deposits,
            withdrawals,
            remaining,
        }
    }
}

impl Inner {
    /// The current epoch (bucket number since start) and its slot.
    fn position(&self) -> (u32, usize) {
        let elapsed = self.start.elapsed().as_nanos();
        let epoch = elapsed / self.bucket_width.as_nanos().max(1);
        // Epochs wrap after 2^32 buckets; the tags only need to tell recent ones apart.
        let epoch = epoch as u32;
        (epoch, epoch as usize % BUCKETS)
    }

    /// The sum of the counters of the epochs `from_age..BUCKETS` before `epoch`
    /// (age 0 is `epoch` itself).
    fn sum(&self, counters: &[TaggedCounter; BUCKETS], epoch: u32, from_age: u32) -> u64 {
        (from_age..BUCKETS as u32)
            .map(|age| {
                let past = epoch.wrapping_sub(age);
                counters[past as usize % BUCKETS].count_at(past)
            })
            .sum()
    }
}

/// `value` in fixed point, with negatives and non-finite values as zero.
fn fixed(value: f64) -> u128 {
    if value.is_finite() && value > 0.0 {
        (value * SCALE as f64).round() as u128
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn old_buckets_expire() {
        let budget = Budget::new(1.0, 0.0, Duration::from_secs(10));
        budget.deposit();
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            budget.snapshot(),
            BudgetSnapshot {
                deposits: 0,
                withdrawals: 0,
                remaining: 0
            }
        );
        budget.deposit();
        assert!(budget.try_withdraw());
    }

    #[test]
    fn stale_tag_reads_as_zero() {
        let counter = TaggedCounter::default();
        assert!(counter.increment_if(5, |_| true));
        assert!(counter.increment_if(5, |_| true));
        assert_eq!(counter.count_at(5), 2);
        assert_eq!(counter.count_at(15), 0);
        assert!(counter.increment_if(15, |count| count == 0));
        assert_eq!(counter.count_at(15), 1);
    }
}
