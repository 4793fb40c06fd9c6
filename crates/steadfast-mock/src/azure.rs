//! Azure OpenAI's addressing in front of the simulated OpenAI format: the
//! deployment URLs (`/openai/deployments/{deployment}/…?api-version=…`, the
//! model list at `/openai/models?api-version=…`) and the v1 API
//! (`/openai/v1/…`), each call needing an `api-key` header or a bearer
//! token, errors in Azure's shape (codes as strings of the status).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::{MockState, openai};

/// The routes of a simulated Azure OpenAI resource.
pub(super) fn routes() -> Router<Arc<MockState>> {
    Router::new()
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(chat),
        )
        .route(
            "/openai/deployments/{deployment}/embeddings",
            post(embeddings),
        )
        .route(
            "/openai/deployments/{deployment}/completions",
            post(completions),
        )
        .route("/openai/models", get(models))
        .route("/openai/v1/chat/completions", post(v1_chat))
        .route("/openai/v1/embeddings", post(v1_embeddings))
        .route("/openai/v1/models", get(v1_models))
}

/// Azure's refusal of a call without credentials or an `api-version`.
fn refused(headers: &HeaderMap, uri: &str, versioned: bool) -> Option<Response> {
    let key = headers.get("api-key").is_some_and(|v| !v.is_empty());
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7);
    if !key && !bearer {
        let body = json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}});
        return Some((StatusCode::UNAUTHORIZED, Json(body)).into_response());
    }
    if versioned && !uri.contains("api-version=") {
        let body = json!({"error": {"code": "404", "message": "Resource not found"}});
        return Some((StatusCode::NOT_FOUND, Json(body)).into_response());
    }
    None
}

async fn chat(
    state: State<Arc<MockState>>,
    Path(_deployment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.control.note_uri(&uri.to_string());
    match refused(&headers, &uri.to_string(), true) {
        Some(refusal) => refusal,
        None => openai::chat(state, headers, body).await,
    }
}

async fn embeddings(
    state: State<Arc<MockState>>,
    Path(_deployment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.control.note_uri(&uri.to_string());
    match refused(&headers, &uri.to_string(), true) {
        Some(refusal) => refusal,
        None => openai::embeddings(state, headers, body).await,
    }
}

async fn completions(
    state: State<Arc<MockState>>,
    Path(_deployment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.control.note_uri(&uri.to_string());
    match refused(&headers, &uri.to_string(), true) {
        Some(refusal) => refusal,
        None => openai::completions(state, headers, body).await,
    }
}

async fn models(state: State<Arc<MockState>>, uri: Uri, headers: HeaderMap) -> Response {
    match refused(&headers, &uri.to_string(), true) {
        Some(refusal) => refusal,
        None => openai::models(state).await,
    }
}

async fn v1_chat(
    state: State<Arc<MockState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.control.note_uri(&uri.to_string());
    match refused(&headers, "", false) {
        Some(refusal) => refusal,
        None => openai::chat(state, headers, body).await,
    }
}

async fn v1_embeddings(
    state: State<Arc<MockState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.control.note_uri(&uri.to_string());
    match refused(&headers, "", false) {
        Some(refusal) => refusal,
        None => openai::embeddings(state, headers, body).await,
    }
}

async fn v1_models(state: State<Arc<MockState>>, headers: HeaderMap) -> Response {
    match refused(&headers, "", false) {
        Some(refusal) => refusal,
        None => openai::models(state).await,
    }
}
