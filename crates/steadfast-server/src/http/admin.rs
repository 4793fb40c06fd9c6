//! `/admin/*`: manual recovery and reloads, behind the bearer `admin_token`
//! (compared in constant time). Without a configured token the admin API is
//! off. Every authorised action is audited; refused calls are counted and
//! logged at a bounded rate instead, and a model name no config could hold
//! is refused with 400 before anything is written.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{bearer, constant_time_eq};
use super::error::ApiError;
use crate::refusals::Surface;
use crate::state::AppState;

/// Refuses the request unless it carries the configured bearer token.
/// A refusal is noted (rate-limited, see [`Refusals`](crate::refusals::Refusals)),
/// never audited: the caller is nobody the audit log answers to.
fn authorize(app: &AppState, headers: &HeaderMap, action: &'static str) -> Result<(), ApiError> {
    let runtime = app.runtime();
    let Some(token) = &runtime.config.server.admin_token else {
        return Err(ApiError::with_status(
            StatusCode::FORBIDDEN,
            "permission_error",
            "admin_disabled",
            "The admin API is off: set server.admin_token to enable it.",
        ));
    };
    if constant_time_eq(bearer(headers).as_bytes(), token.expose().as_bytes()) {
        Ok(())
    } else {
        app.refusals.note(Surface::Admin, action);
        Err(ApiError::unauthorized(
            "A valid admin bearer token is required.",
        ))
    }
}

/// Longest model name an admin path may carry.
const MAX_NAME: usize = 128;

/// Refuses a model name no config could hold, before anything is written.
fn check_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_model_name",
            format!("A model name is 1 to {MAX_NAME} characters without control characters."),
        ));
    }
    Ok(())
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

async fn manual(app: &AppState, headers: &HeaderMap, name: &str, action: &'static str) -> Response {
    if let Err(error) = check_name(name).and_then(|()| authorize(app, headers, action)) {
        return error.into_response();
    }
    let runtime = app.runtime();
    let Some(target) = runtime.targets.get(name) else {
        app.audit.record(action, name, "error", "unknown model");
        return ApiError::not_found(format!("No model named {name:?}.")).into_response();
    };
    if action == "trip" {
        target.breaker().force_open();
    } else {
        target.reset();
        app.proxy.probe_now(name).await;
    }
    let state = target.breaker().state();
    app.audit
        .record(action, name, "ok", &format!("breaker is now {state}"));
    Json(json!({"model": name, "action": action, "breaker": state.as_str()})).into_response()
}

/// `POST /admin/reload`: re-read the config file.
pub(super) async fn reload(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(error) = authorize(&app, &headers, "reload") {
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
    if let Err(error) = authorize(&app, &headers, "audit") {
        return error.into_response();
    }
    Json(json!({"entries": app.audit.entries()})).into_response()
}
