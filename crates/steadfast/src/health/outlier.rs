//! Passive health: live traffic outcomes eject a target that keeps failing
//! (outlier detection, as Envoy does), for a time that grows with repeats.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::HealthState;
use super::clock::nanos;
use super::state::{bump, lock};
use crate::{Failure, Outcome};

impl HealthState {
    /// Records the outcome of a live call to the target and how long it took.
    ///
    /// A success ends the failure streak and feeds the latency average. A
    /// failure whose kind [counts against the target](crate::FailureKind::counts_against_target)
    /// extends the streak, and the streak reaching the configured
    /// `consecutive_failures` ejects the target. Other failures (a too-long
    /// context, an invalid request) leave the streak as it was. Outcomes that
    /// arrive while the target is ejected do not extend the ejection.
    pub fn record(&self, outcome: &Outcome, latency: Duration) {
        let inner = &*self.inner;
        match outcome.failure() {
            None => {
                inner.live_failures.store(0, Ordering::Relaxed);
                self.observe_latency(latency);
            }
            Some(failure) if failure.kind.counts_against_target() => {
                let threshold = inner.outlier.consecutive_failures;
                let ejected = inner.ejected_until.load(Ordering::Acquire) != 0;
                if threshold == 0 || (ejected && !self.readmitted_now()) {
                    return;
                }
                if bump(&inner.live_failures) >= threshold {
                    self.eject(failure, threshold);
                }
            }
            Some(_) => {}
        }
    }

    /// Ends a due ejection; returns whether the target is back in service.
    fn readmitted_now(&self) -> bool {
        self.status();
        self.inner.ejected_until.load(Ordering::Acquire) == 0
    }

    /// Ejects the target after `failures` failures in a row, the last `last`.
    fn eject(&self, last: Failure, failures: u32) {
        let inner = &*self.inner;
        let _guard = lock(&inner.transition);
        // Another caller may have ejected it between our count and the lock.
        if inner.ejected_until.load(Ordering::Acquire) != 0 {
            return;
        }
        let now = inner.clock.now();
        let readmitted = inner.readmitted_at.load(Ordering::Acquire);
        let quiet =
            readmitted == 0 || now.saturating_sub(readmitted) >= nanos(inner.outlier.max_ejection);
        let level = if quiet {
            1
        } else {
            inner
                .ejection_level
                .load(Ordering::Relaxed)
                .saturating_add(1)
        };
        let duration = inner.outlier.ejection(level);
        inner.ejection_level.store(level, Ordering::Relaxed);
        inner.ejections.fetch_add(1, Ordering::Relaxed);
        inner.live_failures.store(0, Ordering::Relaxed);
        inner.ejected_until.store(
            now.saturating_add(nanos(duration))
                .max(now.saturating_add(1)),
            Ordering::Release,
        );
        self.set_error(&format!(
            "ejected for {duration:?} after {failures} consecutive failures (last: {last})"
        ));
        tracing::warn!(target: "steadfast::health", name = %inner.name, ?duration, "target ejected");
        self.refresh();
    }
}
