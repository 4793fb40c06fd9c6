//! The builder of a [`Breaker`]: the configuration's setters plus the name and
//! the event bus.

use std::sync::Arc;
use std::time::Duration;

use super::Breaker;
use super::config::{BreakerConfig, InvalidBreakerConfig, SlidingWindow};
use crate::events::Events;

/// Builds a [`Breaker`]; start with [`Breaker::builder`]. Each setter sets the
/// [`BreakerConfig`] field of the same name.
#[derive(Debug, Clone)]
#[must_use = "call build() to make the breaker"]
pub struct BreakerBuilder {
    name: Arc<str>,
    config: BreakerConfig,
    events: Events,
}

impl BreakerBuilder {
    pub(crate) fn new(name: Arc<str>) -> BreakerBuilder {
        BreakerBuilder {
            name,
            config: BreakerConfig::default(),
            events: Events::none(),
        }
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: BreakerConfig) -> Self {
        self.config = config;
        self
    }

    /// Publishes state changes and rejections into `events`.
    pub fn events(mut self, events: Events) -> Self {
        self.events = events;
        self
    }

    /// Failure rate (0, 1] at or above which the breaker trips.
    pub fn failure_rate(mut self, rate: f64) -> Self {
        self.config.failure_rate = rate;
        self
    }

    /// Calls the window must hold before rates are judged.
    pub fn min_calls(mut self, calls: u32) -> Self {
        self.config.min_calls = calls;
        self
    }

    /// Judges the last `calls` calls.
    pub fn count_window(mut self, calls: u32) -> Self {
        self.config.window = SlidingWindow::Count(calls);
        self
    }

    /// Judges the calls of the last `length` (in 10 buckets).
    pub fn time_window(mut self, length: Duration) -> Self {
        self.config.window = SlidingWindow::time(length);
        self
    }

    /// Sets the window of either kind.
    pub fn window(mut self, window: SlidingWindow) -> Self {
        self.config.window = window;
        self
    }

    /// How long the breaker stays open after a trip.
    pub fn open_for(mut self, open_for: Duration) -> Self {
        self.config.open_for = open_for;
        self
    }

    /// Growth of the open duration per trip in a row.
    pub fn open_for_multiplier(mut self, multiplier: f64) -> Self {
        self.config.open_for_multiplier = multiplier;
        self
    }

    /// Upper bound on the grown open duration.
    pub fn max_open_for(mut self, max: Duration) -> Self {
        self.config.max_open_for = Some(max);
        self
    }

    /// Concurrent half-open probes, and the successes that close.
    pub fn half_open_calls(mut self, calls: u32) -> Self {
        self.config.half_open_calls = calls;
        self
    }

    /// Trip after this many counted failures in a row.
    pub fn consecutive_failures(mut self, failures: u32) -> Self {
        self.config.consecutive_failures = Some(failures);
        self
    }

    /// Calls at least this long are slow.
    pub fn slow_call_duration(mut self, duration: Duration) -> Self {
        self.config.slow_call_duration = Some(duration);
        self
    }

    /// Slow-call rate (0, 1] at or above which the breaker trips.
    pub fn slow_call_rate(mut self, rate: f64) -> Self {
        self.config.slow_call_rate = rate;
        self
    }

    /// Builds the breaker, closed. Out-of-range values are clamped (and a
    /// rate outside (0, 1] logged as a warning); see
    /// [`BreakerConfig::validate`], or [`try_build`](Self::try_build) to
    /// refuse them instead.
    pub fn build(self) -> Breaker {
        Breaker::with_events(self.name, self.config, self.events)
    }

    /// Builds the breaker, closed, or names the first value out of range.
    ///
    /// ```
    /// use steadfast::breaker::Breaker;
    ///
    /// let refused = Breaker::builder("gpt").failure_rate(50.0).try_build();
    /// assert_eq!(refused.unwrap_err().to_string(), "failure_rate: must be in (0, 1]");
    /// assert!(Breaker::builder("gpt").failure_rate(0.5).try_build().is_ok());
    /// ```
    pub fn try_build(self) -> Result<Breaker, InvalidBreakerConfig> {
        self.config.validate()?;
        Ok(self.build())
    }
}
