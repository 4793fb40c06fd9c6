//! A target: one model deployment with its own policies and live state
//! (breaker, bulkhead, rate limit, latency, retry-after cool-down). The state
//! survives a config reload when the model's settings did not change.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use steadfast::adaptive::AdaptiveLimit;
use steadfast::breaker::{Breaker, BreakerConfig as PolicyBreakerConfig, SlidingWindow, State};
use steadfast::bulkhead::Bulkhead;
use steadfast::events::Events;
use steadfast::health::HealthState;
use steadfast::latency::LatencyTracker;
use steadfast_config::{AdaptiveConcurrencyConfig, BreakerConfig, Continuation, ModelConfig};
use tokio::time::Instant;

use super::limit::{Limiter, per_minute};
use super::signals::TargetSignals;
use crate::fleet::Fleet;
use crate::telemetry::{Concurrency, TargetMetrics};
use crate::upstream::Provider;

/// How long a provider's word on the rate limit left holds.
const HEADROOM_KEPT: Duration = Duration::from_secs(60);

/// One model deployment and its live state.
#[derive(Debug)]
pub struct Target {
    /// The model's name in the config.
    pub(crate) name: Arc<str>,
    /// The provider it runs on.
    pub(crate) provider: Arc<Provider>,
    /// The model's settings, as configured (used to keep state across reloads).
    pub(crate) settings: ModelConfig,
    /// The circuit breaker.
    pub(crate) breaker: Breaker,
    /// Concurrency limit, if configured (and not learned).
    pub(crate) bulkhead: Option<Bulkhead>,
    /// Concurrency limit learned from the model's answers, if asked for
    /// (`adaptive_concurrency`), within `max_concurrency`.
    pub(crate) adaptive: Option<AdaptiveLimit>,
    /// Request and token limits, if configured (fleet-wide with a shared state).
    pub(crate) rate_limit: Option<Limiter>,
    /// Recent latency of successful attempts.
    pub(crate) latency: LatencyTracker,
    /// Health from active probes (and live outcomes).
    pub(crate) health: HealthState,
    /// Outcome signals sampled by alert rules.
    pub(crate) signals: TargetSignals,
    /// Its metric series.
    pub(crate) metrics: TargetMetrics,
    born: Instant,
    /// Nanoseconds after `born` before which the target asked not to be called.
    cool_down_until: AtomicU64,
    /// Nanoseconds after `born` before which its own rate limit refuses.
    limited_until: AtomicU64,
    /// The share of its provider's rate limit left (`f64` bits), as last
    /// told, and when (nanoseconds after `born`; 0: never told).
    headroom: AtomicU64,
    headroom_at: AtomicU64,
    misconfigured: AtomicBool,
    /// It refused a continuation given as the start of its own turn.
    refuses_prefill: AtomicBool,
    counters: Counters,
}

/// Lifetime counters of a target, for status pages.
#[derive(Debug, Default)]
struct Counters {
    attempts: AtomicU64,
    successes: AtomicU64,
    failures: AtomicU64,
}

/// A snapshot of a target's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TargetCounts {
    /// Attempts sent.
    pub attempts: u64,
    /// Attempts that succeeded.
    pub successes: u64,
    /// Attempts that failed.
    pub failures: u64,
}

impl Target {
    /// Builds a target from its config.
    pub fn new(
        name: &str,
        settings: &ModelConfig,
        provider: Arc<Provider>,
        health: HealthState,
        events: &Events,
        fleet: Option<&dyn Fleet>,
    ) -> Target {
        let name: Arc<str> = name.into();
        let breaker = Breaker::with_events(
            Arc::clone(&name),
            breaker_config(&settings.circuit_breaker),
            events.clone(),
        );
        let adaptive = settings
            .adaptive_concurrency
            .as_ref()
            .map(|adaptive| adaptive_limit(&name, adaptive, settings, events));
        let bulkhead = match (&adaptive, settings.max_concurrency) {
            (None, Some(max)) => Some(
                Bulkhead::builder(max)
                    .max_queue(settings.max_queue)
                    .queue_timeout(settings.timeout.0)
                    .name(Arc::clone(&name))
                    .events(events.clone())
                    .build(),
            ),
            _ => None,
        };
        let rate_limit = settings.rate_limit.as_ref().map(|limit| {
            Limiter::new(
                &name,
                &format!("model:{name}"),
                limit
                    .requests_per_minute
                    .map(|amount| per_minute(amount, limit.burst.0)),
                limit
                    .tokens_per_minute
                    .map(|amount| per_minute(amount, limit.burst.0)),
                events,
                fleet,
            )
        });
        let metrics = TargetMetrics::new(&name);
        Target {
            name,
            provider,
            settings: settings.clone(),
            breaker,
            bulkhead,
            adaptive,
            rate_limit,
            latency: LatencyTracker::new(Duration::from_secs(60)),
            health,
            signals: TargetSignals::default(),
            metrics,
            born: Instant::now(),
            cool_down_until: AtomicU64::new(0),
            limited_until: AtomicU64::new(0),
            headroom: AtomicU64::new(1.0f64.to_bits()),
            headroom_at: AtomicU64::new(0),
            misconfigured: AtomicBool::new(false),
            refuses_prefill: AtomicBool::new(false),
            counters: Counters::default(),
        }
    }

    /// The name the upstream knows the model by.
    pub fn upstream_model(&self) -> &str {
        &self.settings.model
    }

    /// Longest time for one attempt.
    pub fn timeout(&self) -> Duration {
        self.settings.timeout.0
    }

    /// Longest wait for the first streamed chunk.
    pub fn first_token_timeout(&self) -> Duration {
        self.settings.first_token_timeout.0
    }

    /// How the target is asked to carry on a broken stream: as configured,
    /// else as its API does ([`Codec::prefills`](steadfast_wire::codec::Codec::prefills)); never by prefill once it
    /// refused one.
    pub fn continuation(&self) -> Continuation {
        let configured = self.settings.continuation.unwrap_or_else(|| {
            if self.provider.format.codec().prefills(self.upstream_model()) {
                Continuation::Prefill
            } else {
                Continuation::Instruction
            }
        });
        match configured {
            Continuation::Prefill if self.refuses_prefill.load(Ordering::Relaxed) => {
                Continuation::Instruction
            }
            other => other,
        }
    }

    /// Notes that the target refused a continuation by prefill: it is asked
    /// by instruction from now on.
    pub fn note_refuses_prefill(&self) {
        if !self.refuses_prefill.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target_model = %self.name,
                "the model refused to continue a stream by prefill: it is asked by instruction from now on (set models.{}.continuation: instruction to say so)",
                self.name
            );
        }
    }

    /// Honours a `Retry-After`: the target is not called again before it passes.
    pub fn cool_down(&self, retry_after: Duration) {
        let until = self.since_born(Instant::now() + retry_after);
        self.cool_down_until.fetch_max(until, Ordering::Relaxed);
    }

    /// An operator's reset: the breaker closed, a `Retry-After` and a
    /// misconfiguration forgotten, the model taken as healthy until its next
    /// probe says otherwise.
    pub fn reset(&self) {
        self.breaker.reset();
        self.misconfigured.store(false, Ordering::Relaxed);
        self.cool_down_until.store(0, Ordering::Relaxed);
        self.health.mark_healthy();
    }

    /// How long the target still asked not to be called, if at all.
    pub fn cooling_down(&self) -> Option<Duration> {
        let until = self.cool_down_until.load(Ordering::Relaxed);
        let now = self.since_born(Instant::now());
        (until > now).then(|| Duration::from_nanos(until - now))
    }

    /// Notes that the target's own rate limit refused a request, for `wait`.
    pub fn note_limited(&self, wait: Duration) {
        let until = self.since_born(Instant::now() + wait);
        self.limited_until.fetch_max(until, Ordering::Relaxed);
    }

    /// The model's name in the config.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The provider it runs on.
    pub fn provider(&self) -> &Arc<Provider> {
        &self.provider
    }

    /// The model's settings, as configured.
    pub fn settings(&self) -> &ModelConfig {
        &self.settings
    }

    /// The circuit breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// Request and token limits, if configured (fleet-wide with a shared state).
    pub fn rate_limit(&self) -> Option<&Limiter> {
        self.rate_limit.as_ref()
    }

    /// Recent latency of successful attempts.
    pub fn latency(&self) -> &LatencyTracker {
        &self.latency
    }

    /// Health from active probes (and live outcomes).
    pub fn health(&self) -> &HealthState {
        &self.health
    }

    /// Outcome signals sampled by alert rules.
    pub fn signals(&self) -> &TargetSignals {
        &self.signals
    }

    /// Requests this target takes at once now: its learned limit, or its
    /// `max_concurrency`; none when unbounded.
    pub fn concurrency_limit(&self) -> Option<usize> {
        match &self.adaptive {
            Some(adaptive) => Some(adaptive.limit()),
            None => self.settings.max_concurrency,
        }
    }

    /// Its limit and the requests in flight now, where it has a limit.
    pub fn concurrency(&self) -> Option<Concurrency> {
        match (&self.adaptive, &self.bulkhead) {
            (Some(adaptive), _) => Some(Concurrency {
                limit: adaptive.limit(),
                in_flight: adaptive.in_flight(),
                adaptive: true,
            }),
            (None, Some(bulkhead)) => Some(Concurrency {
                limit: bulkhead.max_concurrent(),
                in_flight: bulkhead.in_flight(),
                adaptive: false,
            }),
            (None, None) => None,
        }
    }

    /// Reads what an answer's headers say of the provider's rate limit left
    /// (see the `headroom` module).
    pub fn note_rate_limit(&self, headers: &http::HeaderMap) {
        if let Some(left) = super::headroom::headroom(headers) {
            self.headroom.store(left.to_bits(), Ordering::Relaxed);
            let now = self.since_born(Instant::now()).max(1);
            self.headroom_at.store(now, Ordering::Relaxed);
        }
    }

    /// The share (0 to 1) of its provider's rate limit the target was last
    /// told it has left; 1 when never told or told over a minute ago (limits
    /// refill).
    pub fn headroom(&self) -> f64 {
        let told = self.headroom_at.load(Ordering::Relaxed);
        let now = self.since_born(Instant::now());
        if told == 0 || now.saturating_sub(told) > HEADROOM_KEPT.as_nanos() as u64 {
            return 1.0;
        }
        f64::from_bits(self.headroom.load(Ordering::Relaxed))
    }

    /// Whether the target's own rate limit refused a request lately (and the
    /// wait it gave is not over).
    pub fn is_limited(&self) -> bool {
        self.limited_until.load(Ordering::Relaxed) > self.since_born(Instant::now())
    }

    /// Whether the target takes its share of requests now: its breaker
    /// closed (a half-open breaker lets only probes through), healthy, not
    /// asked to wait, not at its rate limit. What a route's shedding counts
    /// as capacity.
    pub fn has_capacity(&self) -> bool {
        matches!(self.breaker.state(), State::Closed | State::Disabled)
            && self.is_available()
            && self.cooling_down().is_none()
            && !self.is_limited()
    }

    /// Marks that the upstream refused our credentials (401/403).
    pub fn set_misconfigured(&self, misconfigured: bool) {
        self.misconfigured.store(misconfigured, Ordering::Relaxed);
    }

    /// Whether the upstream last refused our credentials.
    pub fn is_misconfigured(&self) -> bool {
        self.misconfigured.load(Ordering::Relaxed)
    }

    /// Whether a request may be sent now: the breaker would let it through
    /// and the target is not unhealthy.
    pub fn is_available(&self) -> bool {
        self.breaker.would_admit() && self.health.is_available()
    }

    /// Sets the target's state gauges to its state now.
    pub fn publish_state(&self) {
        self.metrics.set_state(
            self.is_available(),
            self.health.status(),
            self.concurrency(),
        );
    }

    /// Counts an attempt's end.
    pub fn count(&self, success: bool) {
        self.counters.attempts.fetch_add(1, Ordering::Relaxed);
        let counter = if success {
            &self.counters.successes
        } else {
            &self.counters.failures
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The lifetime counters.
    pub fn counts(&self) -> TargetCounts {
        TargetCounts {
            attempts: self.counters.attempts.load(Ordering::Relaxed),
            successes: self.counters.successes.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
        }
    }

    fn since_born(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.born).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The library breaker config for a model's `circuit_breaker` settings.
/// The learned concurrency limit of model `name`, within its
/// `max_concurrency`, with the bulkhead's queue settings.
fn adaptive_limit(
    name: &Arc<str>,
    adaptive: &AdaptiveConcurrencyConfig,
    settings: &ModelConfig,
    events: &Events,
) -> AdaptiveLimit {
    let builder = AdaptiveLimit::builder()
        .initial(adaptive.initial)
        .min(adaptive.min)
        .max(
            settings
                .max_concurrency
                .unwrap_or(steadfast::adaptive::DEFAULT_MAX),
        )
        .backoff(adaptive.backoff)
        .max_queue(settings.max_queue)
        .queue_timeout(settings.timeout.0)
        .name(Arc::clone(name))
        .events(events.clone());
    match adaptive.slow_call {
        Some(slow) => builder.slow_call(slow.0),
        None => builder,
    }
    .build()
}

fn breaker_config(settings: &BreakerConfig) -> PolicyBreakerConfig {
    PolicyBreakerConfig {
        failure_rate: settings.failure_rate,
        min_calls: settings.min_calls,
        window: SlidingWindow::time(settings.window.0),
        open_for: settings.open_for.0,
        open_for_multiplier: settings.open_for_multiplier,
        max_open_for: Some(settings.open_time_cap()),
        half_open_calls: settings.half_open_calls,
        consecutive_failures: (settings.consecutive_failures > 0)
            .then_some(settings.consecutive_failures),
        slow_call_duration: settings.slow_call_duration.map(|d| d.0),
        slow_call_rate: settings.slow_call_rate,
    }
}
