//! Sliding windows of recent outcomes: the last N calls (count-based) or the
//! last D of time split into buckets (time-based).
//!
//! Both are lock-free. The count window is a ring of one-byte slots; each
//! record swaps its slot and applies the difference to aggregate counters, so
//! the aggregates always converge on the sum of the slots. The time window
//! keeps per-bucket counters tagged with the bucket's epoch and sums the live
//! buckets only when a failure or slow call must be judged.
//!
//! Approximations under races, all bounded by the calls in flight at that
//! instant: aggregates read while another thread is between its slot swap and
//! its counter update may be off by that update (reads clamp at zero); a call
//! recorded in a time bucket at the very moment another thread rolls that
//! bucket over to a new epoch may be lost.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicU64};

use tokio::time::Instant;

use super::clock::{Clock, nanos};
use super::config::SlidingWindow;

/// Slot bit: the slot holds a call.
pub(crate) const CALL: u8 = 0b001;
/// Slot bit: the call failed (in a way that counts against the target).
pub(crate) const FAILED: u8 = 0b010;
/// Slot bit: the call was slow.
pub(crate) const SLOW: u8 = 0b100;

/// Totals over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Calls recorded.
    pub(crate) calls: u32,
    /// Of which failed.
    pub(crate) failures: u32,
    /// Of which were slow.
    pub(crate) slow: u32,
}

impl Tally {
    /// `part / calls`, or 0 with no calls.
    pub(crate) fn rate(self, part: u32) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            f64::from(part) / f64::from(self.calls)
        }
    }
}

/// A sliding window of either kind.
#[derive(Debug)]
pub(crate) enum Window {
    /// The last N calls.
    Count(CountWindow),
    /// The last D of time.
    Time(TimeWindow),
}

impl Window {
    /// An empty window of the configured shape (already normalised: sizes >= 1).
    pub(crate) fn new(shape: SlidingWindow) -> Window {
        match shape {
            SlidingWindow::Count(size) => Window::Count(CountWindow::new(size as usize)),
            SlidingWindow::Time { length, buckets } => {
                let width = (nanos(length) / u64::from(buckets)).max(1);
                Window::Time(TimeWindow::new(buckets as usize, width))
            }
        }
    }

    /// Records one call, a combination of [`CALL`], [`FAILED`] and [`SLOW`],
    /// that ended at `end` if the caller already read the clock, else now.
    pub(crate) fn record(&self, call: u8, clock: &Clock, end: Option<Instant>) {
        match self {
            Window::Count(window) => window.record(call),
            Window::Time(window) => {
                window.record(call, end.map_or_else(|| clock.now(), |end| clock.at(end)));
            }
        }
    }

    /// The totals over the window now.
    pub(crate) fn tally(&self, clock: &Clock) -> Tally {
        match self {
            Window::Count(window) => window.tally(),
            Window::Time(window) => window.tally(clock.now()),
        }
    }

    /// Forgets every call.
    pub(crate) fn clear(&self) {
        match self {
            Window::Count(window) => window.clear(),
            Window::Time(window) => window.clear(),
        }
    }

    /// How many calls the window can hold, if bounded by count.
    pub(crate) fn capacity(&self) -> Option<u32> {
        match self {
            Window::Count(window) => u32::try_from(window.slots.len()).ok(),
            Window::Time(_) => None,
        }
    }
}

/// The last N calls: a ring of slots and aggregate counters.
#[derive(Debug)]
pub(crate) struct CountWindow {
    slots: Box<[AtomicU8]>,
    head: AtomicU64,
    calls: AtomicI32,
    failures: AtomicI32,
    slow: AtomicI32,
}

impl CountWindow {
    fn new(size: usize) -> CountWindow {
        CountWindow {
            slots: (0..size.max(1)).map(|_| AtomicU8::new(0)).collect(),
            head: AtomicU64::new(0),
            calls: AtomicI32::new(0),
            failures: AtomicI32::new(0),
            slow: AtomicI32::new(0),
        }
    }

    fn record(&self, call: u8) {
        let len = self.slots.len() as u64;
        // The remainder is below `len`, itself a `usize`.
        let index = (self.head.fetch_add(1, Relaxed) % len) as usize;
        if let Some(slot) = self.slots.get(index) {
            // In a run of like outcomes (the happy path) the slot already
            // holds this call: a plain read saves an atomic swap. Only a
            // thread a whole ring ahead could change the slot meanwhile.
            if slot.load(Relaxed) == call {
                return;
            }
            let old = slot.swap(call, AcqRel);
            self.apply(old, call);
        }
    }

    /// Moves the aggregates from a slot's `old` content to its `new` one.
    fn apply(&self, old: u8, new: u8) {
        if old == new {
            return;
        }
        for (bit, counter) in [
            (CALL, &self.calls),
            (FAILED, &self.failures),
            (SLOW, &self.slow),
        ] {
            let delta = i32::from(new & bit != 0) - i32::from(old & bit != 0);
            if delta != 0 {
                counter.fetch_add(delta, Relaxed);
            }
        }
    }

    fn tally(&self) -> Tally {
        let read = |counter: &AtomicI32| u32::try_from(counter.load(Relaxed)).unwrap_or(0);
        Tally {
            calls: read(&self.calls),
            failures: read(&self.failures),
            slow: read(&self.slow),
        }
    }

    fn clear(&self) {
        for slot in &self.slots {
            let old = slot.swap(0, AcqRel);
            self.apply(old, 0);
        }
    }
}

/// One bucket of a time window: its epoch (bucket number + 1; 0 is empty)
/// and its counters.
#[derive(Debug, Default)]
struct Bucket {
    epoch: AtomicU64,
    calls: AtomicU32,
    failures: AtomicU32,
    slow: AtomicU32,
}

/// The last D of time in `buckets` buckets of `width` nanoseconds. The window
/// covers the current (partial) bucket and the ones before it, so its span is
/// between `D - width` and `D`.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    buckets: Box<[Bucket]>,
    width: u64,
}

impl TimeWindow {
    fn new(buckets: usize, width: u64) -> TimeWindow {
        TimeWindow {
            buckets: (0..buckets.max(1)).map(|_| Bucket::default()).collect(),
            width: width.max(1),
        }
    }

    fn epoch(&self, now: u64) -> u64 {
        now / self.width + 1
    }

    fn record(&self, call: u8, now: u64) {
        let epoch = self.epoch(now);
        let len = self.buckets.len() as u64;
        let Some(bucket) = self.buckets.get((epoch % len) as usize) else {
            return;
        };
        let seen = bucket.epoch.load(Acquire);
        if seen < epoch
            && bucket
                .epoch
                .compare_exchange(seen, epoch, AcqRel, Acquire)
                .is_ok()
        {
            // This thread rolled the bucket over: it starts from zero.
            bucket.calls.store(0, Relaxed);
            bucket.failures.store(0, Relaxed);
            bucket.slow.store(0, Relaxed);
        }
        bucket.calls.fetch_add(1, Relaxed);
        if call & FAILED != 0 {
            bucket.failures.fetch_add(1, Relaxed);
        }
        if call & SLOW != 0 {
            bucket.slow.fetch_add(1, Relaxed);
        }
    }

    fn tally(&self, now: u64) -> Tally {
        let current = self.epoch(now);
        let len = self.buckets.len() as u64;
        let mut tally = Tally::default();
        for bucket in &self.buckets {
            let epoch = bucket.epoch.load(Acquire);
            if epoch != 0 && epoch + len > current {
                tally.calls = tally.calls.saturating_add(bucket.calls.load(Relaxed));
                tally.failures = tally.failures.saturating_add(bucket.failures.load(Relaxed));
                tally.slow = tally.slow.saturating_add(bucket.slow.load(Relaxed));
            }
        }
        tally
    }

    fn clear(&self) {
        for bucket in &self.buckets {
            bucket.epoch.store(0, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_window_forgets_the_oldest_call() {
        let window = CountWindow::new(3);
        window.record(CALL | FAILED);
        window.record(CALL | SLOW);
        window.record(CALL);
        assert_eq!(
            window.tally(),
            Tally {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        window.record(CALL);
        assert_eq!(
            window.tally(),
            Tally {
                calls: 3,
                failures: 0,
                slow: 1
            }
        );
        window.clear();
        assert_eq!(window.tally(), Tally::default());
    }

    #[test]
    fn time_window_drops_buckets_that_fall_out() {
        let window = TimeWindow::new(4, 10);
        window.record(CALL | FAILED, 0);
        window.record(CALL, 15);
        assert_eq!(
            window.tally(39),
            Tally {
                calls: 2,
                failures: 1,
                slow: 0
            }
        );
        assert_eq!(
            window.tally(40),
            Tally {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
        // Reusing bucket 0 for epoch 5 resets it.
        window.record(CALL | SLOW, 41);
        assert_eq!(
            window.tally(41),
            Tally {
                calls: 2,
                failures: 0,
                slow: 1
            }
        );
        window.clear();
        assert_eq!(window.tally(41), Tally::default());
    }
}
