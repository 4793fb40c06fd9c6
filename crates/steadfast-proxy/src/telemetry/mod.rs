//! The proxy's metrics and traces: metric names and help texts, handles
//! cached per route and target so the request path never builds a label set
//! ([`RouteMetrics`], [`TargetMetrics`]), and the request and attempt spans
//! ([`trace`]).
//!
//! Metrics go through the `metrics` facade: whoever runs the proxy installs
//! the recorder (the gateway's Prometheus one) and then calls [`describe`].
//! The library's own metrics (breaker transitions and state, rejections,
//! retries, fallbacks, health changes, probe latency) land in the same
//! registry and are described here too.

#[cfg(feature = "otlp")]
mod otlp;
mod route;
mod target;
pub mod trace;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

pub use route::RouteMetrics;
pub use target::{Concurrency, TargetMetrics};

/// Requests per route, by the target that ended them and their outcome.
pub const REQUESTS: &str = "steadfast_requests_total";
/// Time from a request's arrival to its answer (to the first token for streams).
pub const REQUEST_DURATION: &str = "steadfast_request_duration_seconds";
/// Time from a streamed request's arrival to its first token.
pub const TIME_TO_FIRST_TOKEN: &str = "steadfast_time_to_first_token_seconds";
/// Attempts per route and target, by result.
pub const ATTEMPTS: &str = "steadfast_attempts_total";
/// Tokens the upstreams reported using.
pub const TOKENS: &str = "steadfast_tokens_total";
/// Whether a target takes requests now (1) or not (0).
pub const TARGET_AVAILABLE: &str = "steadfast_target_available";
/// A target's health: 0 unknown, 1 healthy, 2 unhealthy.
pub const HEALTH_STATUS: &str = "steadfast_health_status";
/// Requests a target takes at once now: its learned limit or `max_concurrency`.
pub const TARGET_CONCURRENCY_LIMIT: &str = "steadfast_target_concurrency_limit";
/// Requests in flight to a target with a concurrency limit.
pub const TARGET_IN_FLIGHT: &str = "steadfast_target_in_flight";

/// Lookups of a route's answer cache, by result.
pub const CACHE_LOOKUPS: &str = "steadfast_cache_lookups_total";
/// Bytes a route's answer cache holds in this gateway's memory.
pub const CACHE_BYTES: &str = "steadfast_cache_bytes";
/// Answers a route's cache holds in this gateway's memory.
pub const CACHE_ENTRIES: &str = "steadfast_cache_entries";
/// Requests a route refused to keep capacity for higher priorities.
pub const SHED: &str = "steadfast_shed_total";
/// Stream events from a target that did not parse, dropped unrelayed.
pub const MALFORMED_EVENTS: &str = "steadfast_malformed_events_total";
/// Recovery probes of targets whose breaker's open time was over, by result.
pub const RECOVERY_PROBES: &str = "steadfast_recovery_probes_total";

/// The help texts of the proxy's metrics and of the library's.
pub fn describe() {
    describe_counter!(
        REQUESTS,
        "Requests per route by the target of their last attempt (\"none\" if none was sent) and outcome: served, failed, client_error, timeout, cancelled, cache_hit, stale, static, shed. Counted once, when the answer has ended (a stream at its last event)."
    );
    describe_counter!(
        CACHE_LOOKUPS,
        "Lookups of a route's answer cache by result: hit, miss, bypass (Cache-Control from the client), unreachable (the fleet's store could not be asked)."
    );
    describe_gauge!(
        CACHE_BYTES,
        Unit::Bytes,
        "Bytes a route's answer cache holds in this gateway's memory."
    );
    describe_gauge!(
        CACHE_ENTRIES,
        "Answers a route's answer cache holds in this gateway's memory."
    );
    describe_counter!(
        SHED,
        "Requests a route refused, by priority, to keep its shrunken capacity for higher priorities."
    );
    describe_counter!(
        MALFORMED_EVENTS,
        "Events of a target's streams that did not parse (not JSON), dropped without reaching the client."
    );
    describe_counter!(
        RECOVERY_PROBES,
        "One-token calls to a target whose breaker's open time was over, by result: success (counts toward closing it), failure (reopens it), ignored (the answer said nothing of the model's health)."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from a request's arrival until its answer; for streams, until the first token."
    );
    describe_histogram!(
        TIME_TO_FIRST_TOKEN,
        Unit::Seconds,
        "Time from a streamed request's arrival until its first token, failovers included."
    );
    describe_counter!(
        ATTEMPTS,
        "Attempts per route and target by result: served, failed (with kind), skipped (with reason)."
    );
    describe_counter!(
        TOKENS,
        "Tokens the upstream reported using, by target and direction (in: prompt, out: completion)."
    );
    describe_gauge!(
        TARGET_AVAILABLE,
        "1 when a target takes requests (breaker not open, not unhealthy), else 0."
    );
    describe_gauge!(
        HEALTH_STATUS,
        "A target's health: 0 unknown, 1 healthy, 2 unhealthy."
    );
    describe_gauge!(
        TARGET_CONCURRENCY_LIMIT,
        "Requests a target takes at once now: its learned limit (adaptive_concurrency) or its max_concurrency."
    );
    describe_gauge!(
        TARGET_IN_FLIGHT,
        "Requests in flight to a target that has a concurrency limit."
    );
    describe_gauge!(
        "steadfast_concurrency_limit",
        "An adaptive concurrency limit, as last changed."
    );
    describe_gauge!(
        "steadfast_breaker_state",
        "A circuit breaker's state: 0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled."
    );
    describe_counter!(
        "steadfast_breaker_transitions_total",
        "Circuit breaker state changes by the state entered."
    );
    describe_counter!(
        "steadfast_rejections_total",
        "Calls refused before they ran, by reason: breaker_open, bulkhead_full, limit_reached, rate_limited."
    );
    describe_counter!(
        "steadfast_retries_total",
        "Retries scheduled, by the kind of failure retried."
    );
    describe_counter!(
        "steadfast_fallbacks_total",
        "Moves from one target to the next, by the target left and why."
    );
    describe_counter!(
        "steadfast_health_changes_total",
        "Health status changes by the status entered."
    );
    describe_histogram!(
        "steadfast_health_probe_duration_seconds",
        Unit::Seconds,
        "Latency of active health probes by result."
    );
}
