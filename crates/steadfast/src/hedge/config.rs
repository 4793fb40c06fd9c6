//! The hedge delay and the builder of [`HedgePolicy`].

use std::sync::Arc;
use std::time::Duration;

use super::{Counters, HedgePolicy, Shared};
use crate::budget::Budget;
use crate::events::Events;
use crate::latency::LatencyTracker;

/// How long to wait for an attempt before starting the next one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HedgeDelay {
    /// Always this long.
    Fixed(Duration),
    /// The `q` percentile (e.g. `0.95`) of the latencies of recent successful
    /// attempts; `fallback` until enough have been recorded.
    Percentile {
        /// The percentile, in `[0, 1]`.
        q: f64,
        /// The delay while the tracker has too few samples.
        fallback: Duration,
    },
}

/// Builds a [`HedgePolicy`]. Defaults: name `"hedge"`, delay the p95 of the
/// last 60 s of successful attempts (1 s until 20 are recorded), one hedge, no
/// budget, [`Events::none`].
#[derive(Debug)]
pub struct HedgeBuilder {
    name: Arc<str>,
    delay: HedgeDelay,
    max_hedges: u32,
    budget: Option<Budget>,
    events: Events,
    latency_window: Duration,
    min_samples: u64,
}

impl Default for HedgeBuilder {
    fn default() -> HedgeBuilder {
        HedgeBuilder {
            name: "hedge".into(),
            delay: HedgeDelay::Percentile {
                q: 0.95,
                fallback: Duration::from_secs(1),
            },
            max_hedges: 1,
            budget: None,
            events: Events::none(),
            latency_window: Duration::from_secs(60),
            min_samples: 20,
        }
    }
}

impl HedgeBuilder {
    /// The name used in events and metrics.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> HedgeBuilder {
        self.name = name.into();
        self
    }

    /// When to start each extra attempt.
    pub fn delay(mut self, delay: HedgeDelay) -> HedgeBuilder {
        self.delay = delay;
        self
    }

    /// Extra attempts at most, after the first (0 disables hedging).
    pub fn max_hedges(mut self, max_hedges: u32) -> HedgeBuilder {
        self.max_hedges = max_hedges;
        self
    }

    /// A budget capping the extra load: each call deposits, each hedge withdraws.
    pub fn budget(mut self, budget: Budget) -> HedgeBuilder {
        self.budget = Some(budget);
        self
    }

    /// The bus to publish [`HedgeStarted`](crate::events::Event::HedgeStarted) into.
    pub fn events(mut self, events: Events) -> HedgeBuilder {
        self.events = events;
        self
    }

    /// How far back the latency tracker of [`HedgeDelay::Percentile`] looks.
    pub fn latency_window(mut self, window: Duration) -> HedgeBuilder {
        self.latency_window = window;
        self
    }

    /// Samples needed before [`HedgeDelay::Percentile`] trusts the tracker.
    pub fn min_samples(mut self, min_samples: u64) -> HedgeBuilder {
        self.min_samples = min_samples;
        self
    }

    /// Builds the policy.
    pub fn build(self) -> HedgePolicy {
        HedgePolicy {
            shared: Arc::new(Shared {
                name: self.name,
                delay: self.delay,
                max_hedges: self.max_hedges,
                budget: self.budget,
                events: self.events,
                latency: LatencyTracker::new(self.latency_window)
                    .with_min_samples(self.min_samples),
                counters: Counters::default(),
            }),
        }
    }
}
