//! Alerts: rules over the gateway's live state that notify people through
//! Slack, signed webhooks and email.
//!
//! - [`sample`] reads a lock-free [`Snapshot`](sample::Snapshot) of every
//!   target and route: counters bumped on the request path, breaker state,
//!   availability, credentials, latency percentiles.
//! - [`rules`] turns snapshots into the conditions that hold now.
//! - [`engine`] is a pure state machine over those conditions: fire once,
//!   repeat, escalate, resolve. Time is an argument, so it is tested with
//!   tokio's paused clock.
//! - [`outbox`] and [`channel`] deliver notices in the background with a
//!   bounded queue and retries per channel.
//! - [`task`] drives the whole on a tick and on policy events (a breaker
//!   opening is evaluated at once), owned by the gateway and stopped with it.
//!
//! Sampling instead of a per-attempt hook keeps the request path to a few
//! relaxed atomic increments and keeps every alert decision in one task.

pub mod channel;
pub mod engine;
pub mod notice;
pub mod outbox;
pub mod rules;
pub mod sample;
pub mod task;

use std::sync::{Arc, Mutex};

use notice::AlertView;
use outbox::DeliveryStats;
use serde_json::{Value, json};

/// What `GET /api/alerts` shows: the active alerts and delivery counters.
#[derive(Debug, Default)]
pub struct AlertBoard {
    active: Mutex<Vec<AlertView>>,
    /// Delivery counters of every channel.
    pub stats: Arc<DeliveryStats>,
}

impl AlertBoard {
    /// Replaces the list of active alerts.
    pub fn set_active(&self, active: Vec<AlertView>) {
        if let Ok(mut slot) = self.active.lock() {
            *slot = active;
        }
    }

    /// The active alerts.
    pub fn active(&self) -> Vec<AlertView> {
        self.active.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// The JSON of `GET /api/alerts`.
    pub fn to_json(&self) -> Value {
        json!({"active": self.active(), "delivery": self.stats.counts()})
    }
}
