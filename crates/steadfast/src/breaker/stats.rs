//! Lifetime counters of a breaker and the snapshot users read.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::State;

/// Lifetime counters, each bumped with one relaxed `fetch_add`. Successes
/// and failures judged in `Closed` are not counted here but by the sliding
/// window that records them (see `Window::lifetime`), so that the happy path
/// pays for one count, not two.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) permitted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) successes: AtomicU64,
    pub(crate) failures: AtomicU64,
    pub(crate) ignored: AtomicU64,
    pub(crate) slow: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) stale: AtomicU64,
    pub(crate) trips: AtomicU64,
}

/// Adds one to a lifetime counter.
#[inline]
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Relaxed);
}

/// A snapshot of a breaker's state and counters.
///
/// Every permit ends in exactly one of `successes`, `failures`, `ignored`,
/// `cancelled` or `stale`, so `permitted` minus their sum is the number of
/// permits still outstanding.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerStats {
    /// The state now.
    pub state: State,
    /// Permits granted.
    pub permitted: u64,
    /// Calls refused while open, forced open, or half-open with every probe
    /// slot taken.
    pub rejected: u64,
    /// Successful calls judged in the state they were admitted in.
    pub successes: u64,
    /// Failures that count against the target, judged likewise.
    pub failures: u64,
    /// Outcomes that say nothing about the target: failures whose kind does
    /// not count against it, and local rejections by inner policies.
    pub ignored: u64,
    /// Successes and failures that were slow (also counted in those two).
    pub slow: u64,
    /// Permits dropped without an outcome.
    pub cancelled: u64,
    /// Outcomes recorded after the breaker changed state (or was reset) since
    /// their permit was granted; they are not judged.
    pub stale: u64,
    /// Times the breaker opened by its own judgement or by [`trip`](super::Breaker::trip).
    pub trips: u64,
    /// Calls in the current window.
    pub window_calls: u32,
    /// Failure rate of the current window, 0 to 1.
    pub failure_rate: f64,
    /// Slow-call rate of the current window, 0 to 1.
    pub slow_call_rate: f64,
    /// Counted failures in a row, up to now.
    pub consecutive_failures: u32,
    /// When open, how long until a probe is let through.
    pub open_remaining: Option<Duration>,
}

impl Counters {
    /// Reads one counter.
    pub(crate) fn read(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}
