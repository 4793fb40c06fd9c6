//! `/admin/*`: manual recovery and reloads, behind the bearer `admin_token`
//! (compared in constant time). Without a configured token the admin API is
//! off. Every action is audited.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::ApiError;
use crate::state::AppState;

/// Refuses the request unless it carries the configured bearer token.
fn authorize(app: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let runtime = app.runtime();
    let Some(token) = &runtime.config.server.admin_token else {
        return Err(ApiError::with_status(
            StatusCode::FORBIDDEN,
            "permission_error",
            "admin_disabled",
            "The admin API is off: set server.admin_token to enable it.",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if constant_time_eq(presented.as_bytes(), token.expose().as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "A valid admin bearer token is required.",
        ))
    }
}

/// Compares two byte strings in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (index, byte) in b.iter().enumerate() {
        difference |= usize::from(a.get(index).copied().unwrap_or(0) ^ byte);
    }
    difference == 0
}

/// `POST /admin/models/{name}/trip`: force the model's breaker open until reset.
pub(super) async fn trip(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    manual(&app, &headers, &name, "trip").await
}

/// `POST /admin/models/{name}/reset`: close the breaker and forget cool-downs.
pub(super) async fn reset(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    manual(&app, &headers, &name, "reset").await
}

async fn manual(app: &AppState, headers: &HeaderMap, name: &str, action: &str) -> Response {
    if let Err(error) = authorize(app, headers) {
        app.audit
            .record(action, name, "refused", "missing or wrong admin token");
        return error.into_response();
    }
    let runtime = app.runtime();
    let Some(target) = runtime.targets.get(name) else {
        app.audit.record(action, name, "error", "unknown model");
        return ApiError::not_found(format!("No model named {name:?}.")).into_response();
    };
    if action == "trip" {
        target.breaker.force_open();
    } else {
        target.breaker.reset();
        target.set_misconfigured(false);
        target.clear_cool_down();
        target.health.mark_healthy();
        app.proxy.probe_now(name).await;
    }
    let state = target.breaker.state();
    app.audit
        .record(action, name, "ok", &format!("breaker is now {state}"));
    Json(json!({"model": name, "action": action, "breaker": state.as_str()})).into_response()
}

/// `POST /admin/reload`: re-read the config file.
pub(super) async fn reload(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(error) = authorize(&app, &headers) {
        app.audit
            .record("reload", "admin", "refused", "missing or wrong admin token");
        return error.into_response();
    }
    match app.reload("admin").await {
        Ok(summary) => Json(json!({"result": "ok", "summary": summary})).into_response(),
        Err(error) => {
            let problems: Vec<_> = error
                .problems
                .iter()
                .map(|p| json!({"path": p.path, "reason": p.reason}))
                .collect();
            let mut body = ApiError::bad_request(
                "invalid_config",
                format!("The new config was refused; the old one keeps serving. {error}"),
            )
            .body();
            body["error"]["problems"] = problems.into();
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}

/// `GET /admin/audit`: the recent audit entries.
pub(super) async fn audit(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(error) = authorize(&app, &headers) {
        return error.into_response();
    }
    Json(json!({"entries": app.audit.entries()})).into_response()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_whole_strings() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret-longer", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
    }
}
