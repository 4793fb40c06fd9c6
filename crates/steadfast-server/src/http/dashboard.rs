//! `GET /dashboard`, one self-contained page (HTML, CSS and JavaScript
//! compiled into the binary; it loads nothing from elsewhere, and its content
//! security policy forbids it to), and `GET /api/history`, the bounded
//! history the page draws its charts and timeline from when it opens.

use std::sync::{Arc, LazyLock};

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::Value;

use crate::state::AppState;

const HTML: &str = include_str!("../dashboard/assets/dashboard.html");
const CSS: &str = include_str!("../dashboard/assets/dashboard.css");
/// One script: the charts and the timeline, then the page's main part.
const JS: &str = concat!(
    include_str!("../dashboard/assets/charts.js"),
    include_str!("../dashboard/assets/timeline.js"),
    include_str!("../dashboard/assets/dashboard.js"),
);

/// The page with its style and script inlined.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    HTML.replacen("/*STYLE*/", CSS, 1)
        .replacen("/*SCRIPT*/", JS, 1)
});

/// Same-origin requests only, inline style and script, no other source.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
    script-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// `GET /dashboard`.
pub(super) async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE.as_str(),
    )
}

/// `GET /api/history`: `{"samples": [...], "events": [...]}`, oldest first.
pub(super) async fn history(State(app): State<Arc<AppState>>) -> Json<Value> {
    let history = app
        .dashboard
        .with_history(|history| serde_json::to_value(&*history));
    Json(history.unwrap_or_default())
}
