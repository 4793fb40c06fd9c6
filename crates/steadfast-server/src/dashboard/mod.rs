//! The live dashboard's data: a small bounded history of per-second samples
//! and recent events that the page (`/dashboard`) draws its charts and
//! timeline from, and the gateway's own notices. The page and the event
//! stream (`/api/events`) are handlers in [`crate::http`].
//!
//! The library's event bus carries what the policies do; the gateway adds its
//! own notices (reloads, and whatever else publishes through
//! [`Dashboard::notice`]). Both reach the history (through the
//! [`sampler`](crate::sampler) task) and every open stream.

mod event_json;
mod history;
mod live;

use std::sync::{Mutex, PoisonError};

use serde_json::Value;
use steadfast_wire::clock::unix_millis;
use tokio::sync::{broadcast, watch};

pub use event_json::event_json;
pub use history::{History, Recent, Sample, TargetSample, push_bounded};
pub use live::{FeedItem, Live, Subscription, Tick};

/// How many gateway notices a slow stream may fall behind before it skips some.
const NOTICE_CAPACITY: usize = 64;

/// The dashboard's shared part: the history, the gateway's own notices, and
/// the signal that ends every open event stream on shutdown.
#[derive(Debug)]
pub struct Dashboard {
    /// What open event streams share.
    pub live: Live,
    history: Mutex<History>,
    notices: broadcast::Sender<Value>,
    closed: watch::Sender<bool>,
}

impl Default for Dashboard {
    fn default() -> Dashboard {
        Dashboard::new()
    }
}

impl Dashboard {
    /// An empty dashboard.
    pub fn new() -> Dashboard {
        Dashboard {
            live: Live::default(),
            history: Mutex::new(History::default()),
            notices: broadcast::channel(NOTICE_CAPACITY).0,
            closed: watch::channel(false).0,
        }
    }

    /// Publishes a gateway event (a JSON object with a `"type"`; never a
    /// secret) to the timeline and every open stream. A `"time"` in Unix
    /// milliseconds is added when missing.
    pub fn notice(&self, mut event: Value) {
        if let Some(object) = event.as_object_mut() {
            object
                .entry("time")
                .or_insert_with(|| Value::from(unix_millis()));
        }
        // No open stream is not an error; the sampler records it either way.
        let _ = self.notices.send(event);
    }

    /// Listens to the gateway's notices published from now on.
    pub fn subscribe_notices(&self) -> broadcast::Receiver<Value> {
        self.notices.subscribe()
    }

    /// Runs `f` on the history. The lock is never held across an await.
    pub fn with_history<R>(&self, f: impl FnOnce(&mut History) -> R) -> R {
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut history)
    }

    /// Ends every open event stream (on shutdown).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// A flag that turns true once [`Dashboard::close`] was called.
    pub fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }
}
