//! Read-only endpoints: liveness, readiness, the model list and the status
//! snapshot. Nothing here prints a secret: providers appear by name only.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use steadfast_proxy::runtime::TargetCounts;

use super::error::ApiError;
use crate::state::AppState;

/// `GET /health`: the process is up.
pub(super) async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /ready`: 200 when every route has at least one available target,
/// else 503 naming the routes that have none.
pub(super) async fn ready(State(app): State<Arc<AppState>>) -> Response {
    let runtime = app.runtime();
    let mut stranded: Vec<&str> = runtime
        .routes
        .values()
        .filter(|route| !route.targets.iter().any(|t| t.is_available()))
        .map(|route| &*route.name)
        .collect();
    stranded.sort_unstable();
    if stranded.is_empty() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "routes_without_targets": stranded})),
        )
            .into_response()
    }
}

/// `GET /v1/models`: the routes, in OpenAI's list shape (with client keys
/// configured, for a known client only).
pub(super) async fn models(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let runtime = app.runtime();
    super::clients::identify(&runtime, &headers)?;
    let mut names: Vec<&str> = runtime.routes.keys().map(|name| &**name).collect();
    names.sort_unstable();
    let data: Vec<Value> = names
        .into_iter()
        .map(|name| json!({"id": name, "object": "model", "created": 0, "owned_by": "steadfast"}))
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}

/// `GET /api/status`: every route and target with its live state.
pub(super) async fn status(State(app): State<Arc<AppState>>) -> Json<Value> {
    let mut status = snapshot(&app);
    status["state"] = json!({
        "backend": app.shared.backend(),
        "connected": app.shared.is_connected(),
    });
    Json(status)
}

/// Over how many recent seconds the `recent` figures of the status are taken.
const RECENT_SECS: usize = 60;

/// The status snapshot: every route, and every target with its breaker,
/// health, latency, lifetime counts and, over the last minute, its attempts,
/// success rate and share of all attempts.
pub(super) fn snapshot(app: &AppState) -> Value {
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
            let stats = target.breaker.stats();
            let last = recent.get(&*target.name).copied().unwrap_or_default();
            json!({
                "name": target.name,
                "provider": target.provider.name,
                "model": target.upstream_model(),
                "breaker": target.breaker.state().as_str(),
                "health": target.health.status().as_str(),
                "last_error": target.health.last_error().map(|e| e.to_string()),
                "available": target.is_available(),
                "misconfigured": target.is_misconfigured(),
                "cooling_down_ms": target.cooling_down().map(|d| d.as_millis() as u64),
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
                    "p50": target.latency.percentile(0.5).map(|d| d.as_secs_f64() * 1000.0),
                    "p99": target.latency.percentile(0.99).map(|d| d.as_secs_f64() * 1000.0),
                },
            })
        })
        .collect();
    let mut routes: Vec<Value> = runtime
        .routes
        .values()
        .map(|route| {
            json!({
                "name": route.name,
                "strategy": route.settings.strategy.as_str(),
                "targets": route.targets.iter().map(|t| &*t.name).collect::<Vec<_>>(),
            })
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
