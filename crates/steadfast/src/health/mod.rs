//! Health checking: per-target health fed by active probes on an interval and
//! by live traffic outcomes (outlier ejection), read on every request with one
//! atomic load.
//!
//! - [`HealthState`] is one target's health: [`status`](HealthState::status),
//!   [`is_available`](HealthState::is_available), latencies, the last error,
//!   ejections, and [`record`](HealthState::record) for live outcomes.
//! - [`HealthChecker`] owns the probing tasks of registered targets and runs a
//!   [`Probe`] on each [`ProbeConfig`] interval.
//! - Every status change is an [`Event::HealthChanged`](crate::events::Event::HealthChanged)
//!   on the [`Events`](crate::events::Events) bus, and a new value on the
//!   target's [`watch`](HealthState::watch) channel.
//!
//! Probes and live traffic combine: the status is unhealthy while live traffic
//! has the target ejected, and otherwise what probes last concluded
//! ([`Status::Unknown`] until they conclude). An ejection ends only when its
//! time passes or an admin calls [`mark_healthy`](HealthState::mark_healthy);
//! successful probes do not cut it short.

mod checker;
mod clock;
mod config;
mod outlier;
mod probe;
mod snapshot;
mod state;

use std::fmt;

pub use checker::HealthChecker;
pub use config::{OutlierConfig, ProbeConfig};
pub use probe::Probe;
pub use snapshot::HealthSnapshot;
pub use state::HealthState;

/// A target's health as the health checker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Not probed or observed yet.
    Unknown,
    /// Answering.
    Healthy,
    /// Failing probes or ejected for failing live traffic.
    Unhealthy,
}

impl Status {
    /// The snake_case name used in metrics labels and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Healthy => "healthy",
            Status::Unhealthy => "unhealthy",
        }
    }

    /// The status as kept in an atomic.
    const fn to_u8(self) -> u8 {
        match self {
            Status::Unknown => 0,
            Status::Healthy => 1,
            Status::Unhealthy => 2,
        }
    }

    /// The status kept in an atomic by [`Status::to_u8`].
    const fn from_u8(value: u8) -> Status {
        match value {
            1 => Status::Healthy,
            2 => Status::Unhealthy,
            _ => Status::Unknown,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
