//! [`HealthState`]: one target's health, read lock-free on every request and
//! written by probes, live traffic ([`outlier`](super::outlier)) and admins.

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::Status;
use super::clock::{Clock, decode_duration, encode_duration};
use super::config::OutlierConfig;
use crate::events::{Event, Events};

/// Weight of a new sample in the latency moving average.
const EWMA_WEIGHT: f64 = 0.2;

/// Longest error text kept, in bytes; longer text is cut at a char boundary.
const MAX_ERROR_LEN: usize = 256;

/// One target's health. Cheap to clone: clones share the state.
///
/// [`status`](HealthState::status) is one atomic load while the target is in
/// service; an ejection's end is noticed lazily by the first read after it, so
/// no timer task is needed.
///
/// ```
/// use std::time::Duration;
/// use steadfast::health::{HealthState, OutlierConfig, Status};
/// use steadfast::{events::Events, FailureKind, Outcome};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let state = HealthState::new("gpt", Events::none(), OutlierConfig::default().consecutive_failures(2));
/// assert!(state.is_available());
/// state.record(&Outcome::from(FailureKind::Timeout), Duration::from_secs(30));
/// state.record(&Outcome::from(FailureKind::Timeout), Duration::from_secs(30));
/// assert_eq!(state.status(), Status::Unhealthy);
/// assert!(state.ejected_until().is_some());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HealthState {
    pub(super) inner: Arc<Inner>,
}

/// The shared fields. Every change of `probed` or `ejected_until` happens
/// under `transition`, which is never held across an await.
#[derive(Debug)]
pub(super) struct Inner {
    pub(super) name: Arc<str>,
    pub(super) events: Events,
    pub(super) outlier: OutlierConfig,
    pub(super) clock: Clock,
    /// What `status()` returns: `probed`, or unhealthy while ejected.
    pub(super) status: AtomicU8,
    /// The status from probes and manual marks alone.
    pub(super) probed: AtomicU8,
    pub(super) changed_at: AtomicU64,
    pub(super) probe_successes: AtomicU32,
    pub(super) probe_failures: AtomicU32,
    pub(super) last_probe_at: AtomicU64,
    pub(super) last_latency: AtomicU64,
    pub(super) ewma_latency: AtomicU64,
    pub(super) last_error: Mutex<Option<Arc<str>>>,
    pub(super) live_failures: AtomicU32,
    pub(super) ejected_until: AtomicU64,
    pub(super) ejections: AtomicU32,
    pub(super) ejection_level: AtomicU32,
    pub(super) readmitted_at: AtomicU64,
    pub(super) transition: Mutex<()>,
    pub(super) watch: watch::Sender<Status>,
}

impl HealthState {
    /// A target in status [`Status::Unknown`] that publishes its changes to
    /// `events` and is ejected by live traffic as `outlier` says.
    pub fn new(name: impl Into<Arc<str>>, events: Events, outlier: OutlierConfig) -> HealthState {
        let inner = Inner {
            name: name.into(),
            events,
            outlier,
            clock: Clock::new(),
            status: AtomicU8::new(Status::Unknown.to_u8()),
            probed: AtomicU8::new(Status::Unknown.to_u8()),
            changed_at: AtomicU64::new(0),
            probe_successes: AtomicU32::new(0),
            probe_failures: AtomicU32::new(0),
            last_probe_at: AtomicU64::new(0),
            last_latency: AtomicU64::new(0),
            ewma_latency: AtomicU64::new(0),
            last_error: Mutex::new(None),
            live_failures: AtomicU32::new(0),
            ejected_until: AtomicU64::new(0),
            ejections: AtomicU32::new(0),
            ejection_level: AtomicU32::new(0),
            readmitted_at: AtomicU64::new(0),
            transition: Mutex::new(()),
            watch: watch::Sender::new(Status::Unknown),
        };
        HealthState {
            inner: Arc::new(inner),
        }
    }

    /// The target's name.
    pub fn name(&self) -> &Arc<str> {
        &self.inner.name
    }

    /// The current status: unhealthy while ejected, otherwise what probes and
    /// manual marks last said.
    pub fn status(&self) -> Status {
        let status = Status::from_u8(self.inner.status.load(Ordering::Acquire));
        if status == Status::Unhealthy && self.inner.ejected_until.load(Ordering::Acquire) != 0 {
            return self.readmit_if_due();
        }
        status
    }

    /// Whether requests may go to the target: healthy or unknown, and not ejected.
    pub fn is_available(&self) -> bool {
        self.status() != Status::Unhealthy
    }

    /// A receiver that sees every status change; its current value is the status.
    pub fn watch(&self) -> watch::Receiver<Status> {
        self.inner.watch.subscribe()
    }

    /// The latency of the last probe, successful or not.
    pub fn last_latency(&self) -> Option<Duration> {
        decode_duration(self.inner.last_latency.load(Ordering::Relaxed))
    }

    /// The moving average of successful probes' and live calls' latencies.
    pub fn ewma_latency(&self) -> Option<Duration> {
        decode_duration(self.inner.ewma_latency.load(Ordering::Relaxed))
    }

    /// The last probe error, ejection reason or manual reason.
    pub fn last_error(&self) -> Option<Arc<str>> {
        lock(&self.inner.last_error).clone()
    }

    /// Until when live traffic has ejected the target, if it is ejected now.
    pub fn ejected_until(&self) -> Option<Instant> {
        self.status();
        let stamp = self.inner.ejected_until.load(Ordering::Acquire);
        self.inner.clock.instant(stamp)
    }

    /// How many times live traffic has ejected the target.
    pub fn ejections(&self) -> u32 {
        self.inner.ejections.load(Ordering::Relaxed)
    }

    /// When the last ejection ended; a weighted strategy may ramp traffic up
    /// slowly from then on (slow start).
    pub fn readmitted_at(&self) -> Option<Instant> {
        self.status();
        let stamp = self.inner.readmitted_at.load(Ordering::Acquire);
        self.inner.clock.instant(stamp)
    }

    /// When the status last changed.
    pub fn changed_at(&self) -> Option<Instant> {
        let stamp = self.inner.changed_at.load(Ordering::Relaxed);
        self.inner.clock.instant(stamp)
    }

    /// Marks the target healthy (admin reset): ends any ejection, clears the
    /// counters and the last error. Probes keep running and may change it again.
    pub fn mark_healthy(&self) {
        let inner = &*self.inner;
        let _guard = lock(&inner.transition);
        inner.ejected_until.store(0, Ordering::Release);
        inner.ejection_level.store(0, Ordering::Relaxed);
        inner.live_failures.store(0, Ordering::Relaxed);
        inner.probe_failures.store(0, Ordering::Relaxed);
        *lock(&inner.last_error) = None;
        inner
            .probed
            .store(Status::Healthy.to_u8(), Ordering::Release);
        self.refresh();
    }

    /// Marks the target unhealthy for `reason` (admin trip). Probes keep
    /// running, and `healthy_after` successes make it healthy again.
    pub fn mark_unhealthy(&self, reason: &str) {
        let inner = &*self.inner;
        let _guard = lock(&inner.transition);
        inner.probe_successes.store(0, Ordering::Relaxed);
        self.set_error(reason);
        inner
            .probed
            .store(Status::Unhealthy.to_u8(), Ordering::Release);
        self.refresh();
    }

    /// Folds a successful call's latency into the moving average.
    pub(super) fn observe_latency(&self, latency: Duration) {
        let sample = encode_duration(latency);
        let _ = self
            .inner
            .ewma_latency
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                if old == 0 {
                    return Some(sample);
                }
                let old = old as f64;
                Some((old + EWMA_WEIGHT * (sample as f64 - old)) as u64)
            });
    }

    /// Keeps `error` as the last error, cut to a bounded length.
    pub(super) fn set_error(&self, error: &str) {
        let mut end = error.len().min(MAX_ERROR_LEN);
        while !error.is_char_boundary(end) {
            end -= 1;
        }
        *lock(&self.inner.last_error) = Some(Arc::from(&error[..end]));
    }

    /// Ends an ejection whose time has passed, and returns the status.
    fn readmit_if_due(&self) -> Status {
        let inner = &*self.inner;
        let until = inner.ejected_until.load(Ordering::Acquire);
        if until != 0 && until <= inner.clock.now() {
            let _guard = lock(&inner.transition);
            self.refresh();
        }
        Status::from_u8(inner.status.load(Ordering::Acquire))
    }

    /// Recomputes the status after a change, ending a due ejection first, and
    /// announces a change. The caller holds `transition`.
    pub(super) fn refresh(&self) {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let until = inner.ejected_until.load(Ordering::Acquire);
        if until != 0 && until <= now {
            inner.ejected_until.store(0, Ordering::Release);
            inner.readmitted_at.store(until, Ordering::Release);
            inner.live_failures.store(0, Ordering::Relaxed);
        }
        let to = if inner.ejected_until.load(Ordering::Acquire) != 0 {
            Status::Unhealthy
        } else {
            Status::from_u8(inner.probed.load(Ordering::Acquire))
        };
        let from = Status::from_u8(inner.status.swap(to.to_u8(), Ordering::AcqRel));
        if from == to {
            return;
        }
        inner.changed_at.store(now, Ordering::Relaxed);
        inner.watch.send_replace(to);
        tracing::info!(target: "steadfast::health", name = %inner.name, %from, %to, "health changed");
        inner.events.emit(Event::HealthChanged {
            name: inner.name.clone(),
            from,
            to,
        });
    }
}

/// Adds one to a streak counter, saturating, and returns the new value.
pub(super) fn bump(counter: &AtomicU32) -> u32 {
    let old = counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            Some(n.saturating_add(1))
        })
        .unwrap_or_else(|n| n);
    old.saturating_add(1)
}

/// Locks a mutex whose data stays valid even if a holder panicked.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
