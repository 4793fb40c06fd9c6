//! `GET /api/alerts`: the active alerts and the delivery counters, as JSON.
//! Alerts hold names and readings only, never a secret.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::state::AppState;

/// `GET /api/alerts`.
pub(super) async fn active(State(app): State<Arc<AppState>>) -> Json<Value> {
    Json(app.alerts.to_json())
}
