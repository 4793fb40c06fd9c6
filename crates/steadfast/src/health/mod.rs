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

pub use checker::HealthChecker;
pub use config::{OutlierConfig, ProbeConfig};
pub use probe::Probe;
pub use snapshot::HealthSnapshot;
pub use state::HealthState;

pub use crate::states::Status;
