//! Exact accounting of a wait queue (the bulkhead's, the adaptive limit's).

use std::sync::atomic::{AtomicUsize, Ordering};

/// A place in the wait queue, given back when dropped: on admission, on
/// timeout, or when the waiting future is cancelled.
#[derive(Debug)]
pub(crate) struct QueueSlot<'a> {
    queued: &'a AtomicUsize,
}

impl<'a> QueueSlot<'a> {
    /// Takes a place if fewer than `max` are taken.
    pub(crate) fn take(queued: &'a AtomicUsize, max: usize) -> Option<QueueSlot<'a>> {
        queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| QueueSlot { queued })
    }
}

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_bounded_and_given_back() {
        let queued = AtomicUsize::new(0);
        let first = QueueSlot::take(&queued, 2);
        let second = QueueSlot::take(&queued, 2);
        assert!(first.is_some() && second.is_some());
        assert!(QueueSlot::take(&queued, 2).is_none());
        assert_eq!(queued.load(Ordering::Relaxed), 2);
        drop(first);
        assert_eq!(queued.load(Ordering::Relaxed), 1);
        assert!(QueueSlot::take(&queued, 0).is_none());
    }
}
