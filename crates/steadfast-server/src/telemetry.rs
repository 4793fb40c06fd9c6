//! The gateway's metrics: the Prometheus recorder behind `GET /metrics`, the
//! upkeep that keeps its histograms bounded, and the names of the metrics the
//! HTTP layer itself counts (the proxy's and the library's are described by
//! [`steadfast_proxy::telemetry::describe`]).
//!
//! Metrics go through the `metrics` facade, whose recorder is global to the
//! process: [`install`] sets it up once, and every gateway started in the same
//! process (tests start several) shares it, so their series add up.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::describe_counter;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

/// Requests refused before routing (unreadable, invalid, unknown route).
pub const INVALID_REQUESTS: &str = "steadfast_invalid_requests_total";
/// Calls to the admin API or the operations surface refused for want of a token.
pub const AUTH_REFUSALS: &str = "steadfast_auth_refusals_total";
/// Streams given up because their client took no event for `server.write_timeout`.
pub const STALLED_STREAMS: &str = "steadfast_stalled_streams_total";
/// Config reloads by result.
pub const CONFIG_RELOADS: &str = "steadfast_config_reloads_total";

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
            _ = steadfast_net::wait_for(&mut stop) => return,
        }
    }
}

/// The help texts of every metric.
fn describe() {
    steadfast_proxy::telemetry::describe();
    describe_counter!(
        INVALID_REQUESTS,
        "Requests refused before routing: unreadable body, invalid JSON, unknown route."
    );
    describe_counter!(
        AUTH_REFUSALS,
        "Calls refused for want of a valid token, by surface: admin or ops."
    );
    describe_counter!(
        STALLED_STREAMS,
        "Streams given up because their client took no event for server.write_timeout."
    );
    describe_counter!(CONFIG_RELOADS, "Config reloads by result: ok or refused.");
}
