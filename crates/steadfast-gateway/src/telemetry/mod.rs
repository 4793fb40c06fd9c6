//! The gateway's metrics: names, help texts, the Prometheus recorder behind
//! `GET /metrics`, and handles cached per route and target so the request
//! path never builds a label set.
//!
//! Metrics go through the `metrics` facade, whose recorder is global to the
//! process: [`install`] sets it up once, and every gateway started in the same
//! process (tests start several) shares it, so their series add up. The
//! library's own metrics (breaker transitions and state, rejections, retries,
//! fallbacks, health changes, probe latency) land in the same registry.

pub mod logging;
#[cfg(feature = "otlp")]
pub mod otlp;
mod route;
mod target;
pub mod trace;

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

pub use route::{Outcome, RouteMetrics};
pub use target::TargetMetrics;

/// Requests per route, by the target that ended them and their outcome.
pub const REQUESTS: &str = "steadfast_requests_total";
/// Requests refused before routing (unreadable, invalid, unknown route).
pub const INVALID_REQUESTS: &str = "steadfast_invalid_requests_total";
/// Time from a request's arrival to its answer (to the first token for streams).
pub const REQUEST_DURATION: &str = "steadfast_request_duration_seconds";
/// Time from a streamed request's arrival to its first token.
pub const TIME_TO_FIRST_TOKEN: &str = "steadfast_time_to_first_token_seconds";
/// Attempts per route and target, by result.
pub const ATTEMPTS: &str = "steadfast_attempts_total";
/// Tokens the upstreams reported using.
pub const TOKENS: &str = "steadfast_tokens_total";
/// Config reloads by result.
pub const CONFIG_RELOADS: &str = "steadfast_config_reloads_total";
/// Whether a target takes requests now (1) or not (0).
pub const TARGET_AVAILABLE: &str = "steadfast_target_available";
/// A target's health: 0 unknown, 1 healthy, 2 unhealthy.
pub const HEALTH_STATUS: &str = "steadfast_health_status";

/// Upper bounds of the latency histograms, in seconds: model calls range from
/// milliseconds (embeddings, cached answers) to minutes (long generations).
const LATENCY_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];
/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's Prometheus recorder, installed as the global `metrics`
/// recorder on first call; later calls return the same handle.
///
/// If another global recorder was installed first (an embedding program's
/// own), the gateway's metrics go there and the handle renders nothing; this
/// is logged once.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
                // Not reachable: the buckets are a non-empty constant.
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(error) = metrics::set_global_recorder(recorder) {
                tracing::warn!(%error, "another metrics recorder is installed: GET /metrics stays empty");
            }
            describe();
            handle
        })
        .clone()
}

/// Folds histogram samples into buckets every few seconds until `stop`, so
/// memory stays bounded when nobody scrapes.
pub async fn upkeep(handle: PrometheusHandle, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => handle.run_upkeep(),
            _ = crate::net::wait_for(&mut stop) => return,
        }
    }
}

/// The help texts of the gateway's metrics and of the library's.
fn describe() {
    describe_counter!(
        REQUESTS,
        "Requests per route by the target of their last attempt (\"none\" if none was sent) and outcome: served, failed, client_error, timeout."
    );
    describe_counter!(
        INVALID_REQUESTS,
        "Requests refused before routing: unreadable body, invalid JSON, unknown route."
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
    describe_counter!(CONFIG_RELOADS, "Config reloads by result: ok or refused.");
    describe_gauge!(
        TARGET_AVAILABLE,
        "1 when a target takes requests (breaker not open, not unhealthy), else 0."
    );
    describe_gauge!(
        HEALTH_STATUS,
        "A target's health: 0 unknown, 1 healthy, 2 unhealthy."
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
        "Calls refused before they ran, by reason: breaker_open, bulkhead_full, rate_limited."
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
