//! Events: every state change, retry, rejection, hedge, health change and
//! injected fault is an [`Event`] that users can subscribe to, and a count
//! through the `metrics` facade (feature `metrics`).
//!
//! Policies publish into an [`Events`] bus given to their builder. Share one bus
//! among many policies to watch them all from one receiver:
//!
//! ```
//! use steadfast::events::{Event, Events};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let events = Events::new();
//! let mut receiver = events.subscribe();
//! events.emit(Event::RetryBudgetExhausted { name: "chat".into() });
//! assert!(matches!(receiver.recv().await, Ok(Event::RetryBudgetExhausted { .. })));
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::Failure;
use crate::states::{self, State as BreakerState, Status as HealthStatus};

/// How many events a slow subscriber may fall behind before it misses some.
const CAPACITY: usize = 1024;

/// Something a policy did or saw.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A circuit breaker changed state.
    BreakerStateChanged {
        /// The breaker's name.
        name: Arc<str>,
        /// The state it left.
        from: BreakerState,
        /// The state it entered.
        to: BreakerState,
    },
    /// A policy refused a call before it ran.
    Rejected {
        /// The policy's name.
        name: Arc<str>,
        /// Which policy refused.
        by: Rejection,
    },
    /// A failed attempt will be retried after `delay`.
    RetryScheduled {
        /// The retry policy's name.
        name: Arc<str>,
        /// The attempt that failed, counting from 1.
        attempt: u32,
        /// The wait before the next attempt.
        delay: Duration,
        /// Why the attempt failed.
        failure: Failure,
    },
    /// The last allowed attempt failed.
    RetriesExhausted {
        /// The retry policy's name.
        name: Arc<str>,
        /// How many attempts were made.
        attempts: u32,
        /// Why the last one failed.
        failure: Failure,
    },
    /// A retry was skipped because the retry budget was spent.
    RetryBudgetExhausted {
        /// The retry policy's name.
        name: Arc<str>,
    },
    /// A call or operation timed out.
    TimedOut {
        /// The timeout policy's name.
        name: Arc<str>,
        /// The limit that passed.
        after: Duration,
    },
    /// A hedged attempt was started because the first was slow.
    HedgeStarted {
        /// The hedging policy's name.
        name: Arc<str>,
        /// The attempt started, counting from 2.
        attempt: u32,
        /// How long after the first attempt it started.
        after: Duration,
    },
    /// A fallback strategy moved from one target to another.
    FallbackTaken {
        /// The target that failed or was skipped.
        from: Arc<str>,
        /// The target tried next.
        to: Arc<str>,
        /// Why `from` was left; `None` when it was skipped as unavailable.
        failure: Option<Failure>,
    },
    /// A target's health changed.
    HealthChanged {
        /// The target's name.
        name: Arc<str>,
        /// Its former status.
        from: HealthStatus,
        /// Its new status.
        to: HealthStatus,
    },
    /// An adaptive concurrency limit changed.
    LimitChanged {
        /// The limit's name.
        name: Arc<str>,
        /// The limit before.
        from: usize,
        /// The limit now.
        to: usize,
    },
    /// The fault-injection policy injected a fault.
    FaultInjected {
        /// The policy's name.
        name: Arc<str>,
        /// What it injected.
        fault: states::InjectedKind,
    },
}

/// Which policy refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// An open circuit breaker.
    BreakerOpen,
    /// A full bulkhead.
    BulkheadFull,
    /// An adaptive concurrency limit was reached.
    LimitReached,
    /// A local rate limiter.
    RateLimited,
}

impl Rejection {
    /// The snake_case name used in metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Rejection::BreakerOpen => "breaker_open",
            Rejection::BulkheadFull => "bulkhead_full",
            Rejection::LimitReached => "limit_reached",
            Rejection::RateLimited => "rate_limited",
        }
    }
}

/// A bus that policies publish [`Event`]s into. Cheap to clone; clones share
/// subscribers. [`Events::none`] only counts metrics.
#[derive(Debug, Clone, Default)]
pub struct Events {
    sender: Option<broadcast::Sender<Event>>,
}

impl Events {
    /// A bus that subscribers can listen to.
    pub fn new() -> Events {
        let (sender, _) = broadcast::channel(CAPACITY);
        Events {
            sender: Some(sender),
        }
    }

    /// A bus with no subscribers: events only feed metrics.
    pub const fn none() -> Events {
        Events { sender: None }
    }

    /// Listens to every event published from now on. A receiver that falls more
    /// than 1024 events behind is told how many it missed.
    ///
    /// On a bus made by [`Events::none`] the receiver never yields an event.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        match &self.sender {
            Some(sender) => sender.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    /// Publishes an event to subscribers and counts it in metrics.
    pub fn emit(&self, event: Event) {
        #[cfg(feature = "metrics")]
        record_metrics(&event);
        if let Some(sender) = &self.sender {
            // No subscriber is not an error: the event is simply not wanted.
            let _ = sender.send(event);
        }
    }
}

#[cfg(feature = "metrics")]
fn record_metrics(event: &Event) {
    use metrics::counter;
    match event {
        Event::BreakerStateChanged { name, to, .. } => {
            counter!("steadfast_breaker_transitions_total", "name" => name.to_string(), "to" => to.as_str())
                .increment(1);
        }
        Event::Rejected { name, by } => {
            counter!("steadfast_rejections_total", "name" => name.to_string(), "reason" => by.as_str())
                .increment(1);
        }
        Event::RetryScheduled { name, failure, .. } => {
            counter!("steadfast_retries_total", "name" => name.to_string(), "kind" => failure.kind.as_str())
                .increment(1);
        }
        Event::RetriesExhausted { name, .. } => {
            counter!("steadfast_retries_exhausted_total", "name" => name.to_string()).increment(1);
        }
        Event::RetryBudgetExhausted { name } => {
            counter!("steadfast_retry_budget_exhausted_total", "name" => name.to_string())
                .increment(1);
        }
        Event::TimedOut { name, .. } => {
            counter!("steadfast_timeouts_total", "name" => name.to_string()).increment(1);
        }
        Event::HedgeStarted { name, .. } => {
            counter!("steadfast_hedges_total", "name" => name.to_string()).increment(1);
        }
        Event::FallbackTaken { from, failure, .. } => {
            let kind = failure.map_or("unavailable", |f| f.kind.as_str());
            counter!("steadfast_fallbacks_total", "from" => from.to_string(), "kind" => kind)
                .increment(1);
        }
        Event::HealthChanged { name, to, .. } => {
            counter!("steadfast_health_changes_total", "name" => name.to_string(), "to" => to.as_str())
                .increment(1);
        }
        // The limit sets its own gauge, registered once (`adaptive`).
        Event::LimitChanged { .. } => {}
        Event::FaultInjected { name, fault } => {
            counter!("steadfast_faults_injected_total", "name" => name.to_string(), "fault" => fault.as_str())
                .increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_share_subscribers() {
        let events = Events::new();
        let mut receiver = events.subscribe();
        events.clone().emit(Event::Rejected {
            name: "gpt".into(),
            by: Rejection::BulkheadFull,
        });
        assert_eq!(
            receiver.recv().await.ok(),
            Some(Event::Rejected {
                name: "gpt".into(),
                by: Rejection::BulkheadFull
            })
        );
    }

    #[tokio::test]
    async fn none_bus_accepts_events_silently() {
        let events = Events::none();
        let mut receiver = events.subscribe();
        events.emit(Event::RetryBudgetExhausted { name: "x".into() });
        assert!(receiver.try_recv().is_err());
    }
}
