//! The HTTP face of the gateway: the routers over the public contract (one
//! per listener) and every handler. Handlers parse what they must, call the proxy or read the
//! gateway's state, and map the result to one status and one body shape
//! ([`error`]).

mod admin;
mod alerts;
mod auth;
mod body;
mod chat;
mod client_api;
mod clients;
mod dashboard;
pub mod error;
mod events;
mod forward;
mod info;
mod messages;
mod ops;
mod relay;
mod report;
mod responses;
mod scrape;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use steadfast_proxy::headers::REQUEST_ID;

pub use error::ApiError;
pub use ops::Listener;

use crate::state::AppState;

/// The router of one listener (see [`Listener`]): the model API, the
/// operations surface behind its guard (module `ops`), the admin API behind its
/// token, and `/health` everywhere.
pub fn router(app: Arc<AppState>, listener: Listener) -> Router {
    let mut router = Router::new().route("/health", get(info::health));
    if listener.serves_models() {
        router = router
            .route("/v1/chat/completions", post(chat::chat))
            .route("/v1/embeddings", post(chat::embeddings))
            .route("/v1/completions", post(chat::completions))
            .route("/v1/messages", post(messages::messages))
            .route("/v1/responses", post(responses::responses))
            .route("/v1/models", get(info::models));
    }
    if listener.serves_operations() {
        let guarded = Router::new()
            .route("/ready", get(info::ready))
            .route("/api/status", get(info::status))
            .route("/api/alerts", get(alerts::active))
            .route("/api/report", get(report::report))
            .route("/metrics", get(scrape::metrics))
            .route("/api/events", get(events::events))
            .route("/api/history", get(dashboard::history))
            .route("/dashboard", get(dashboard::page))
            .route_layer(axum::middleware::from_fn_with_state(
                (Arc::clone(&app), listener),
                ops::guard,
            ));
        let admin = Router::new()
            .route("/admin/models/{name}/trip", post(admin::trip))
            .route("/admin/models/{name}/reset", post(admin::reset))
            .route("/admin/reload", post(admin::reload))
            .route("/admin/audit", get(admin::audit))
            .route_layer(axum::middleware::from_fn_with_state(
                (Arc::clone(&app), listener),
                ops::admin_guard,
            ));
        router = router.merge(guarded).merge(admin).route(
            "/dashboard/login",
            post(ops::login).with_state((Arc::clone(&app), listener)),
        );
    }
    router
        .fallback(|| async { ApiError::not_found("No such endpoint.") })
        .with_state(app)
}

/// The request id of a request: the client's `x-request-id` if it sent a
/// sane one, else a new one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(new_request_id)
}

fn new_request_id() -> String {
    static RNG: std::sync::OnceLock<steadfast::rng::Rng> = std::sync::OnceLock::new();
    let rng = RNG.get_or_init(steadfast::rng::Rng::from_entropy);
    format!("req_{:016x}", rng.next_u64())
}
