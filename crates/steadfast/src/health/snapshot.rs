//! [`HealthSnapshot`]: a copy of a target's health for status APIs.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use std::sync::atomic::Ordering;

use super::{HealthState, Status};

/// A target's health at one moment, from [`HealthState::snapshot`](super::HealthState::snapshot).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HealthSnapshot {
    /// The target's name.
    pub name: Arc<str>,
    /// Its status.
    pub status: Status,
    /// Whether requests may go to it (healthy or unknown, not ejected).
    pub available: bool,
    /// The last probe's latency.
    pub last_latency: Option<Duration>,
    /// The moving average of successful probes' and live calls' latencies.
    pub ewma_latency: Option<Duration>,
    /// The last probe error, ejection reason or manual reason.
    pub last_error: Option<Arc<str>>,
    /// Successful probes in a row.
    pub consecutive_successes: u32,
    /// Failed probes in a row.
    pub consecutive_failures: u32,
    /// Live calls in a row that failed against the target.
    pub consecutive_live_failures: u32,
    /// Until when it is ejected, if it is.
    pub ejected_until: Option<Instant>,
    /// How many times live traffic has ejected it.
    pub ejections: u32,
    /// When its last ejection ended.
    pub readmitted_at: Option<Instant>,
    /// When its status last changed.
    pub changed_at: Option<Instant>,
    /// When it was last probed.
    pub last_probe_at: Option<Instant>,
}

impl HealthState {
    /// Everything known about the target, for status APIs and dashboards.
    pub fn snapshot(&self) -> HealthSnapshot {
        let inner = &*self.inner;
        let status = self.status();
        HealthSnapshot {
            name: inner.name.clone(),
            status,
            available: status != Status::Unhealthy,
            last_latency: self.last_latency(),
            ewma_latency: self.ewma_latency(),
            last_error: self.last_error(),
            consecutive_successes: inner.probe_successes.load(Ordering::Relaxed),
            consecutive_failures: inner.probe_failures.load(Ordering::Relaxed),
            consecutive_live_failures: inner.live_failures.load(Ordering::Relaxed),
            ejected_until: self.ejected_until(),
            ejections: self.ejections(),
            readmitted_at: self.readmitted_at(),
            changed_at: self.changed_at(),
            last_probe_at: inner
                .clock
                .instant(inner.last_probe_at.load(Ordering::Relaxed)),
        }
    }
}
