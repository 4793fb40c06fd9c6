//! Read-only endpoints: liveness, readiness, the model list and the status
//! snapshot. Nothing here prints a secret: providers appear by name only.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::state::AppState;

/// `GET /health`: the process is up.
pub(super) async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /ready`: 200 when every route has at least one available target,
/// else 503 naming the routes that have none. The fleet's shared state is
/// reported (`state`) and a link to Redis that is down is a warning, not a
/// refusal: the gateway serves on its local state meanwhile.
pub(super) async fn ready(State(app): State<Arc<AppState>>) -> Response {
    let runtime = app.runtime();
    let mut stranded: Vec<&str> = runtime
        .routes
        .values()
        .filter(|route| !route.targets().iter().any(|t| t.is_available()))
        .map(|route| &**route.name())
        .collect();
    stranded.sort_unstable();
    let mut warnings = Vec::new();
    if !app.shared.is_connected() {
        warnings.push(match app.shared.degraded() {
            Some("readonly") => "shared state: Redis answers as a read-only replica (a failover); this gateway uses its local state until it reaches the primary",
            _ => "shared state: Redis is not connected; this gateway uses its local state until it is back",
        });
    }
    let state = shared_state(&app);
    if stranded.is_empty() {
        Json(json!({"status": "ready", "state": state, "warnings": warnings})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "not_ready",
                "routes_without_targets": stranded,
                "state": state,
                "warnings": warnings,
            })),
        )
            .into_response()
    }
}

/// The fleet's shared state: its backend, whether it is in use, and why not
/// though Redis answers.
fn shared_state(app: &AppState) -> Value {
    json!({
        "backend": app.shared.backend(),
        "connected": app.shared.is_connected(),
        "degraded": app.shared.degraded(),
    })
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
    let mut status = crate::status::snapshot(&app);
    status["state"] = shared_state(&app);
    Json(status)
}
