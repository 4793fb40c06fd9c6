//! Lock-free outcome signals that alert rules sample: a target's failures
//! that count against it and its run of failures in a row, and a route's
//! served and unserved requests. Recording is one or two relaxed atomic
//! operations, so the request path stays lean.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::outcome::Outcome;

/// Outcome signals of one target.
#[derive(Debug, Default)]
pub struct TargetSignals {
    faults: AtomicU64,
    streak: AtomicU64,
    peak_streak: AtomicU64,
    /// When the current run of failures began (Unix ms).
    failing_since_ms: AtomicU64,
}

impl TargetSignals {
    /// An attempt succeeded: the run of failures ends.
    pub fn success(&self) {
        self.streak.store(0, Ordering::Relaxed);
    }

    /// An attempt failed; `counts_against_target` is false for failures that
    /// are the request's fault (they neither extend nor end the run).
    pub fn failure(&self, counts_against_target: bool) {
        if counts_against_target {
            self.faults.fetch_add(1, Ordering::Relaxed);
            let streak = self.streak.fetch_add(1, Ordering::Relaxed) + 1;
            if streak == 1 {
                self.failing_since_ms
                    .store(steadfast_wire::clock::unix_millis(), Ordering::Relaxed);
            }
            self.peak_streak.fetch_max(streak, Ordering::Relaxed);
        }
    }

    /// Failures that counted against the target, since it was built.
    pub fn faults(&self) -> u64 {
        self.faults.load(Ordering::Relaxed)
    }

    /// When the current run of failures began (Unix ms); `None` after a
    /// success.
    pub fn failing_since_ms(&self) -> Option<u64> {
        (self.streak.load(Ordering::Relaxed) > 0)
            .then(|| self.failing_since_ms.load(Ordering::Relaxed))
    }

    /// The longest run of failures since the last call (or the current run,
    /// if longer), so a run that ended between two samples is still seen.
    /// Meant for one sampler.
    pub fn take_streak(&self) -> u64 {
        let current = self.streak.load(Ordering::Relaxed);
        self.peak_streak
            .swap(current, Ordering::Relaxed)
            .max(current)
    }
}

/// Outcome signals of one route.
#[derive(Debug, Default)]
pub struct RouteSignals {
    served: AtomicU64,
    unserved: AtomicU64,
    failovers: AtomicU64,
    /// By [`DegradedCounts::to_array`]'s order.
    degraded: [AtomicU64; 4],
}

/// How a route answered without a model, or refused: counts since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DegradedCounts {
    /// Answered from the cache, without a call.
    pub cache_hits: u64,
    /// Answered from the cache after every target failed.
    pub stale: u64,
    /// Answered with the static last answer.
    pub static_answers: u64,
    /// Refused to keep capacity for higher priorities.
    pub shed: u64,
}

impl DegradedCounts {
    /// The counts in the order of their fields.
    pub fn to_array(self) -> [u64; 4] {
        [self.cache_hits, self.stale, self.static_answers, self.shed]
    }

    /// Counts from [`DegradedCounts::to_array`]'s order.
    pub fn from_array([cache_hits, stale, static_answers, shed]: [u64; 4]) -> DegradedCounts {
        DegradedCounts {
            cache_hits,
            stale,
            static_answers,
            shed,
        }
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: DegradedCounts) {
        self.cache_hits += other.cache_hits;
        self.stale += other.stale;
        self.static_answers += other.static_answers;
        self.shed += other.shed;
    }

    /// Whether every count is zero.
    pub fn is_empty(&self) -> bool {
        *self == DegradedCounts::default()
    }
}

impl RouteSignals {
    /// Counts a request that ended with `outcome` (`failed_over`: served
    /// after another target failed or was skipped). Served are the requests
    /// a target or the cache answered, and those at fault themselves; a
    /// static answer or a shed request is unserved; a cancelled one is not
    /// counted.
    pub fn count(&self, outcome: Outcome, failed_over: bool) {
        let (served, degraded) = match outcome {
            Outcome::Served | Outcome::ClientError => (true, None),
            Outcome::Failed | Outcome::Timeout => (false, None),
            Outcome::Cancelled => return,
            Outcome::CacheHit => (true, Some(0)),
            Outcome::Stale => (true, Some(1)),
            Outcome::Static => (false, Some(2)),
            Outcome::Shed => (false, Some(3)),
        };
        let counter = if served { &self.served } else { &self.unserved };
        counter.fetch_add(1, Ordering::Relaxed);
        if failed_over {
            self.failovers.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(index) = degraded {
            self.degraded[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests answered without a model, or shed, since the route was built.
    pub fn degraded_counts(&self) -> DegradedCounts {
        DegradedCounts::from_array(self.degraded.each_ref().map(|n| n.load(Ordering::Relaxed)))
    }

    /// Requests served after a failover, since the route was built.
    pub fn failovers(&self) -> u64 {
        self.failovers.load(Ordering::Relaxed)
    }

    /// Requests served and unserved since the route was built.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.served.load(Ordering::Relaxed),
            self.unserved.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_ended_between_samples_is_still_seen() {
        let signals = TargetSignals::default();
        for _ in 0..3 {
            signals.failure(true);
        }
        signals.failure(false);
        signals.success();
        signals.failure(true);
        assert_eq!(signals.take_streak(), 3);
        assert_eq!(signals.take_streak(), 1);
        signals.success();
        assert_eq!(
            signals.take_streak(),
            1,
            "the run seen since the last sample"
        );
        assert_eq!(signals.take_streak(), 0);
        assert_eq!(signals.faults(), 4);
    }
}
