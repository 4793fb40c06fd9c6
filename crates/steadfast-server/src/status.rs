//! The status snapshot of `GET /api/status` and of the `status` events of
//! `GET /api/events`: every route, and every target with its live state.

use serde_json::{Value, json};
use steadfast_proxy::runtime::TargetCounts;

use crate::state::AppState;

/// Over how many recent seconds the `recent` figures of the status are taken.
const RECENT_SECS: usize = 60;

/// The status snapshot: every route, and every target with its breaker,
/// health, latency, lifetime counts and, over the last minute, its attempts,
/// success rate and share of all attempts.
pub fn snapshot(app: &AppState) -> Value {
    let runtime = app.runtime();
    let recent = app
        .dashboard
        .with_history(|history| history.recent(RECENT_SECS));
    let counts: Vec<TargetCounts> = runtime.targets.values().map(|t| t.counts()).collect();
    let all_attempts = counts.iter().map(|c| c.attempts).sum();
    let all_recent = recent.values().map(|r| r.attempts).sum();
    let targets: Vec<Value> = runtime
        .targets
        .values()
        .zip(counts)
        .map(|(target, counts)| {
            let stats = target.breaker().stats();
            let last = recent.get(&**target.name()).copied().unwrap_or_default();
            json!({
                "name": target.name(),
                "provider": target.provider().name,
                "model": target.upstream_model(),
                "breaker": target.breaker().state().as_str(),
                "health": target.health().status().as_str(),
                "last_error": target.health().last_error().map(|e| e.to_string()),
                "available": target.is_available(),
                "misconfigured": target.is_misconfigured(),
                "cooling_down_ms": target.cooling_down().map(|d| d.as_millis() as u64),
                "concurrency": target.concurrency(),
                "counts": counts,
                "success_rate": ratio(counts.successes, counts.attempts),
                "traffic_share": ratio(counts.attempts, all_attempts),
                "recent": {
                    "window_secs": RECENT_SECS,
                    "attempts": last.attempts,
                    "failures": last.failures,
                    "success_rate": ratio(last.attempts - last.failures, last.attempts),
                    "traffic_share": ratio(last.attempts, all_recent),
                },
                "window_failure_rate": stats.failure_rate,
                "latency_ms": {
                    "p50": target.latency().percentile(0.5).map(|d| d.as_secs_f64() * 1000.0),
                    "p99": target.latency().percentile(0.99).map(|d| d.as_secs_f64() * 1000.0),
                },
            })
        })
        .collect();
    let mut routes: Vec<Value> = runtime
        .routes
        .values()
        .map(|route| {
            let mut entry = json!({
                "name": route.name(),
                "strategy": route.settings().strategy.as_str(),
                "targets": route.targets().iter().map(|t| &**t.name()).collect::<Vec<_>>(),
                "degraded": route.signals().degraded_counts(),
            });
            if let Some(cache) = &route.cache() {
                entry["cache"] = json!({"mode": cache.settings().mode});
            }
            if let Some(shedder) = &route.shedder() {
                entry["shedding"] = json!({
                    "in_flight": shedder.gate().in_flight(),
                    "waiting": shedder.gate().waiting(),
                    "capacity_now": shedder.capacity_now(route.targets()),
                });
            }
            entry
        })
        .collect();
    routes.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json!({
        "uptime_secs": app.started.elapsed().as_secs(),
        "routes": routes,
        "targets": targets,
    })
}

/// `part / whole`, or `None` when there is no whole.
fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}
