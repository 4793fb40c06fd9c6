//! Metric handles of one target, made once when the target is built.

use metrics::{Counter, Gauge, counter, gauge};
use steadfast::health::Status;
use steadfast_wire::tokens::Tokens;

use super::{
    HEALTH_STATUS, MALFORMED_EVENTS, RECOVERY_PROBES, TARGET_AVAILABLE, TARGET_CONCURRENCY_LIMIT,
    TARGET_IN_FLIGHT, TOKENS,
};

/// A target's series: tokens used, availability and health, malformed
/// stream events and recovery probes.
#[derive(Debug)]
pub struct TargetMetrics {
    name: String,
    tokens_in: Counter,
    tokens_out: Counter,
    available: Gauge,
    health: Gauge,
    concurrency_limit: Gauge,
    in_flight: Gauge,
    malformed: Counter,
}

impl TargetMetrics {
    /// Registers the series of target `name`.
    pub fn new(name: &str) -> TargetMetrics {
        let target = name.to_owned();
        TargetMetrics {
            tokens_in: counter!(TOKENS, "target" => target.clone(), "direction" => "in"),
            tokens_out: counter!(TOKENS, "target" => target.clone(), "direction" => "out"),
            available: gauge!(TARGET_AVAILABLE, "target" => target.clone()),
            health: gauge!(HEALTH_STATUS, "target" => target.clone()),
            concurrency_limit: gauge!(TARGET_CONCURRENCY_LIMIT, "target" => target.clone()),
            in_flight: gauge!(TARGET_IN_FLIGHT, "target" => target.clone()),
            malformed: counter!(MALFORMED_EVENTS, "target" => target.clone()),
            name: target,
        }
    }

    /// Counts the tokens an upstream reported for one answer.
    pub fn tokens(&self, usage: &Tokens) {
        self.tokens_in.increment(usage.input);
        self.tokens_out.increment(usage.output);
    }

    /// Counts stream events that did not parse and were dropped.
    pub fn malformed_events(&self, count: u32) {
        self.malformed.increment(u64::from(count));
    }

    /// Counts one recovery probe by its result (`success`, `failure`, `ignored`).
    pub fn recovery_probe(&self, result: &'static str) {
        counter!(RECOVERY_PROBES, "target" => self.name.clone(), "result" => result).increment(1);
    }

    /// Sets the state gauges (done at each scrape, so they are never stale);
    /// the concurrency gauges only where the target has a limit.
    pub fn set_state(&self, available: bool, health: Status, concurrency: Option<Concurrency>) {
        if let Some(concurrency) = concurrency {
            self.concurrency_limit.set(concurrency.limit as f64);
            self.in_flight.set(concurrency.in_flight as f64);
        }
        self.available.set(if available { 1.0 } else { 0.0 });
        self.health.set(match health {
            Status::Unknown => 0.0,
            Status::Healthy => 1.0,
            Status::Unhealthy => 2.0,
        });
    }
}

/// A target's concurrency now, where it has a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Concurrency {
    /// Requests it takes at once: its learned limit, or its `max_concurrency`.
    pub limit: usize,
    /// Requests in flight to it.
    pub in_flight: usize,
    /// Whether the limit is learned (`adaptive_concurrency`).
    pub adaptive: bool,
}
