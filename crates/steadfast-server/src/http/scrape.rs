//! `GET /metrics`: every metric of the process in the Prometheus text format.
//! The state gauges of the live targets are set just before rendering, so
//! they are exact at every scrape.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

/// The content type of the Prometheus text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`.
pub(super) async fn metrics(State(app): State<Arc<AppState>>) -> impl IntoResponse {
    for target in app.runtime().targets.values() {
        target.publish_state();
    }
    (
        [(header::CONTENT_TYPE, TEXT_FORMAT)],
        app.prometheus.render(),
    )
}
