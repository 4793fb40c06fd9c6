//! Sliding windows of recent outcomes: the last N calls (count-based) or the
//! last D of time split into buckets (time-based).
//!
//! Both are lock-free, and both keep lifetime counts of the calls they
//! recorded, which double as the breaker's lifetime counts of the outcomes it
//! judged while closed: recording a success is one read-modify-write.
//!
//! The count window is a ring of one-byte slots; each record swaps its slot
//! (unless it already holds the same outcome) and applies the difference to
//! aggregate counters, so the aggregates always converge on the sum of the
//! slots. Its head is its lifetime call count. The time window only adds to
//! its lifetime totals; each bucket, tagged with its epoch, stores the totals
//! at its start, so the window holds the totals now minus those at the start
//! of its oldest live bucket.
//!
//! Approximations under races, all bounded by the calls in flight at that
//! instant: aggregates read while another thread is between its slot swap and
//! its counter update may be off by that update (reads clamp at zero); a call
//! recorded at the very moment another thread starts a time bucket may fall
//! in the bucket before or after; a tally read while a thread is between
//! starting a bucket and storing its totals may count the calls of an older
//! bucket; calls recorded during a clear may be lost to the window.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicU64};

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
    /// that ended at `end` on `clock` if the caller already read it, else
    /// now. Returns whether a rate may have risen since the last record: a
    /// count window still filling (its call count grew, so `min_calls` may
    /// just be reached), or any time window (older calls leave it as time
    /// passes); a success replacing an older call in a full count window
    /// cannot raise a rate.
    #[inline]
    pub(crate) fn record(&self, call: u8, clock: &Clock, end: Option<u64>) -> bool {
        match self {
            Window::Count(window) => window.record(call),
            Window::Time(window) => {
                window.record(call, end.unwrap_or_else(|| clock.now()));
                true
            }
        }
    }

    /// The failures and calls (failures included) recorded over the window's
    /// lifetime: the breaker's lifetime counts of what it judged in `Closed`.
    pub(crate) fn lifetime(&self) -> (u64, u64) {
        match self {
            Window::Count(window) => window.lifetime(),
            Window::Time(window) => window.lifetime(),
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
    /// Calls recorded over the window's life; the next slot is `head % len`.
    head: AtomicU64,
    /// Failed calls recorded over the window's life.
    failed: AtomicU64,
    calls: AtomicI32,
    failures: AtomicI32,
    slow: AtomicI32,
}

impl CountWindow {
    fn new(size: usize) -> CountWindow {
        CountWindow {
            slots: (0..size.max(1)).map(|_| AtomicU8::new(0)).collect(),
            head: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            calls: AtomicI32::new(0),
            failures: AtomicI32::new(0),
            slow: AtomicI32::new(0),
        }
    }

    /// Records one call; returns whether its slot was empty (the window
    /// grew). Clearing the window keeps the lifetime counts.
    #[inline]
    pub(crate) fn record(&self, call: u8) -> bool {
        let len = self.slots.len() as u64;
        // The remainder is below `len`, itself a `usize`.
        let index = (self.head.fetch_add(1, Relaxed) % len) as usize;
        if call & FAILED != 0 {
            // Released after the head: whoever reads this count sees the head
            // count this call too (see `lifetime`).
            self.failed.fetch_add(1, Release);
        }
        if let Some(slot) = self.slots.get(index) {
            // In a run of like outcomes (the happy path) the slot already
            // holds this call: a plain read saves an atomic swap. Only a
            // thread a whole ring ahead could change the slot meanwhile.
            if slot.load(Relaxed) == call {
                return false;
            }
            let old = slot.swap(call, AcqRel);
            self.apply(old, call);
            return old == 0;
        }
        false
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

    /// The failures and calls recorded over the window's life. Read in this
    /// order, failures never exceed calls.
    fn lifetime(&self) -> (u64, u64) {
        let failed = self.failed.load(Acquire);
        (failed, self.head.load(Relaxed))
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

/// Lifetime counts of recorded calls. Failures and slow calls are released
/// after the call count, so whoever acquires them sees that count include
/// them.
#[derive(Debug, Default)]
struct Totals {
    calls: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
}

impl Totals {
    /// Counts one call.
    #[inline]
    fn add(&self, call: u8) {
        self.calls.fetch_add(1, Relaxed);
        if call & FAILED != 0 {
            self.failures.fetch_add(1, Release);
        }
        if call & SLOW != 0 {
            self.slow.fetch_add(1, Release);
        }
    }

    /// `[calls, failures, slow]`, read so that neither part exceeds the
    /// calls.
    fn read(&self) -> [u64; 3] {
        let failures = self.failures.load(Acquire);
        let slow = self.slow.load(Acquire);
        [self.calls.load(Relaxed), failures, slow]
    }
}

/// One bucket of a time window: its epoch (bucket number + 1; 0 is empty)
/// and the window's totals when the bucket began.
#[derive(Debug, Default)]
struct Bucket {
    epoch: AtomicU64,
    calls: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
}

/// The last D of time in `buckets` buckets of `width` nanoseconds. The window
/// covers the current (partial) bucket and the ones before it, so its span is
/// between `D - width` and `D`.
///
/// A call only adds to lifetime totals; a bucket stores the totals at its
/// start, so the window holds the totals now minus those at the start of its
/// oldest live bucket (no call falls between buckets: a bucket starts at the
/// first call of its span).
#[derive(Debug)]
pub(crate) struct TimeWindow {
    buckets: Box<[Bucket]>,
    width: u64,
    totals: Totals,
}

impl TimeWindow {
    fn new(buckets: usize, width: u64) -> TimeWindow {
        TimeWindow {
            buckets: (0..buckets.max(1)).map(|_| Bucket::default()).collect(),
            width: width.max(1),
            totals: Totals::default(),
        }
    }

    fn epoch(&self, now: u64) -> u64 {
        now / self.width + 1
    }

    /// Records one call made at `now`.
    #[inline]
    pub(crate) fn record(&self, call: u8, now: u64) {
        let epoch = self.epoch(now);
        let len = self.buckets.len() as u64;
        if let Some(bucket) = self.buckets.get((epoch % len) as usize)
            && bucket.epoch.load(Acquire) < epoch
        {
            self.roll(bucket, epoch);
        }
        self.totals.add(call);
    }

    /// Starts `bucket` for `epoch`, unless another thread did.
    #[cold]
    #[inline(never)]
    fn roll(&self, bucket: &Bucket, epoch: u64) {
        let seen = bucket.epoch.load(Acquire);
        if seen < epoch
            && bucket
                .epoch
                .compare_exchange(seen, epoch, AcqRel, Acquire)
                .is_ok()
        {
            let [calls, failures, slow] = self.totals.read();
            bucket.calls.store(calls, Relaxed);
            bucket.failures.store(failures, Relaxed);
            bucket.slow.store(slow, Relaxed);
        }
    }

    fn tally(&self, now: u64) -> Tally {
        let current = self.epoch(now);
        let len = self.buckets.len() as u64;
        let oldest = self
            .buckets
            .iter()
            .map(|bucket| (bucket.epoch.load(Acquire), bucket))
            .filter(|&(epoch, _)| epoch != 0 && epoch + len > current)
            .min_by_key(|&(epoch, _)| epoch);
        let Some((_, bucket)) = oldest else {
            return Tally::default();
        };
        let since = [
            bucket.calls.load(Relaxed),
            bucket.failures.load(Relaxed),
            bucket.slow.load(Relaxed),
        ];
        let [calls, failures, slow] = self.totals.read();
        let count =
            |now: u64, then: u64| u32::try_from(now.saturating_sub(then)).unwrap_or(u32::MAX);
        let calls = count(calls, since[0]);
        Tally {
            calls,
            failures: count(failures, since[1]).min(calls),
            slow: count(slow, since[2]).min(calls),
        }
    }

    /// The failures and calls recorded over the window's life.
    fn lifetime(&self) -> (u64, u64) {
        let [calls, failures, _] = self.totals.read();
        (failures, calls)
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
