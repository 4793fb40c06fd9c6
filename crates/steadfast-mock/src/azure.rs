//! Azure OpenAI's addressing in front of the simulated OpenAI format: the
//! deployment URLs (`/openai/deployments/{deployment}/…?api-version=…`, the
//! model list at `/openai/models?api-version=…`) and the v1 API
//! (`/openai/v1/…`), each call needing an `api-key` header or a bearer
//! token, errors in Azure's shape (codes as strings of the status), and the
//! content filter's annotations on every chat answer.
//!
//! Where each rule and shape comes from:
//! - the paths, the `api-version` query and the `api-key` header: the
//!   service's REST reference and its OpenAPI description,
//!   <https://learn.microsoft.com/azure/ai-services/openai/reference> and
//!   `specification/cognitiveservices/data-plane/AzureOpenAI/inference/stable/2024-10-21/inference.json`
//!   in <https://github.com/Azure/azure-rest-api-specs>; the official
//!   `openai.AzureOpenAI` client builds the same (`openai/lib/azure.py`),
//!   checked by `tests/it/python/azure_openai.py`;
//! - the annotations: `prompt_filter_results` (`prompt_index`,
//!   `content_filter_results` of `hate`, `jailbreak`, `self_harm`, `sexual`,
//!   `violence`) beside a whole answer's choices, each choice's
//!   `content_filter_results` (`hate`, `self_harm`, `sexual`, `violence`,
//!   `protected_material_code`, `protected_material_text`), a stream's
//!   first chunk carrying only the prompt's results (`id: ""`,
//!   `choices: []`), and `finish_reason: content_filter` with the category
//!   marked filtered when the completion is withheld: Microsoft's content
//!   filtering article and its samples,
//!   <https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter>
//!   (`articles/ai-services/openai/concepts/content-filter.md` in
//!   <https://github.com/MicrosoftDocs/azure-docs>), and OpenAI's cookbook
//!   reading them through the SDK's `model_extra`
//!   (<https://github.com/openai/openai-cookbook>, `examples/azure/chat.ipynb`).
//!
//! Rest on reports of the live service (captured streams in client projects'
//! tests): the verdicts on each streamed chunk's choice in the default
//! (buffered) mode, `{}` on a choice that carries no text (the role, a tool
//! call, the finish); the articles show only the asynchronous filter's
//! separate annotation chunks. Likewise the error codes as strings.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::MockState;
use super::openai::{self, Annotations};

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

/// The content filter's verdicts Azure adds to a chat answer: nothing
/// found in the prompt nor in the completion, or (`withheld`) protected
/// text found in the completion and filtered, as in Microsoft's sample of
/// a stream the filter stopped.
fn annotations() -> Annotations {
    let safe = json!({"filtered": false, "severity": "safe"});
    let undetected = json!({"filtered": false, "detected": false});
    let harms = |extra: &[(&str, &Value)]| {
        let mut verdicts =
            json!({"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe});
        for (category, verdict) in extra {
            verdicts[*category] = (*verdict).clone();
        }
        verdicts
    };
    let detected = json!({"filtered": true, "detected": true});
    Annotations {
        prompt: json!([{"prompt_index": 0,
                        "content_filter_results": harms(&[("jailbreak", &undetected)])}]),
        passed: harms(&[
            ("protected_material_code", &undetected),
            ("protected_material_text", &undetected),
        ]),
        filtered: harms(&[
            ("protected_material_code", &undetected),
            ("protected_material_text", &detected),
        ]),
    }
}

async fn chat(
    State(state): State<Arc<MockState>>,
    Path(_deployment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.control.note_uri(&uri.to_string());
    match refused(&headers, &uri.to_string(), true) {
        Some(refusal) => refusal,
        None => openai::answer_chat(&state, &headers, &body, Some(annotations())).await,
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
    State(state): State<Arc<MockState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.control.note_uri(&uri.to_string());
    match refused(&headers, "", false) {
        Some(refusal) => refusal,
        None => openai::answer_chat(&state, &headers, &body, Some(annotations())).await,
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
