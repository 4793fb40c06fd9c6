//! Google Cloud's Vertex AI as the simulated provider speaks it: an OAuth
//! token endpoint (`POST /token`) that takes a service account's signed JWT
//! (`urn:ietf:params:oauth:grant-type:jwt-bearer`; its RS256 signature
//! checked with the account's public key when the mock has one, refused as
//! Google does, `invalid_grant` "Invalid JWT Signature.") and issues access tokens
//! (`token_lifetime_s`), and the model calls of both publishers,
//! `…/publishers/google/models/{model}:generateContent` (Gemini's format)
//! and `…/publishers/anthropic/models/{model}:rawPredict` (Anthropic's, the
//! model in the URL, `anthropic_version: vertex-2023-10-16`), each needing a
//! token this endpoint issued.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::{MockState, anthropic, gemini};

/// The prefix of the access tokens this endpoint issues.
const TOKEN_PREFIX: &str = "ya29.mock-";

/// `POST /token`: a signed JWT for an access token.
pub(super) async fn token(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let form = String::from_utf8_lossy(&body);
    let field = |key: &str| {
        form.split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
            .unwrap_or_default()
            .to_owned()
    };
    let refuse = |why: &str| {
        let body = json!({"error": "invalid_grant", "error_description": why});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    };
    if field("grant_type") != "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" {
        return refuse("unsupported grant_type");
    }
    let assertion = field("assertion");
    let parts: Vec<&str> = assertion.split('.').collect();
    let claims = parts
        .get(1)
        .and_then(|part| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<Value>(&json).ok());
    let Some(claims) = claims.filter(|_| parts.len() == 3 && !parts[2].is_empty()) else {
        return refuse("the assertion is not a signed JWT");
    };
    if let Some(public_key) = &state.google_public_key {
        if let Err(why) = verify_signature(&assertion, public_key) {
            return refuse(&why);
        }
    }
    let scoped = claims["scope"]
        .as_str()
        .is_some_and(|scope| scope.contains("cloud-platform"));
    let addressed = claims["aud"]
        .as_str()
        .is_some_and(|aud| aud.ends_with("/token"));
    let fresh = claims["exp"].as_u64() > claims["iat"].as_u64();
    if !(claims["iss"].is_string() && scoped && addressed && fresh) {
        return refuse("the assertion's claims are not those of a service account");
    }
    let control = &state.control;
    let issued = control.issue_token();
    Json(json!({
        "access_token": format!("{TOKEN_PREFIX}{issued}"),
        "expires_in": control.faults().token_lifetime_s,
        "token_type": "Bearer",
    }))
    .into_response()
}

/// Checks the assertion's RS256 signature with the service account's
/// public key, as Google's token endpoint does (RFC 7523; Google's "Using
/// OAuth 2.0 for server to server applications": the JWT is signed with
/// RSA SHA-256 by the account's private key). Claims are judged apart.
fn verify_signature(assertion: &str, public_key: &str) -> Result<(), String> {
    let key = DecodingKey::from_rsa_pem(public_key.as_bytes())
        .map_err(|error| format!("the mock's public key is not an RSA PEM key: {error}"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(assertion, &key, &validation)
        .map(|_| ())
        .map_err(|_| "Invalid JWT Signature.".to_owned())
}

/// Google's refusal of a call without a token this endpoint issued.
fn refused(headers: &HeaderMap) -> Option<Response> {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(&format!("Bearer {TOKEN_PREFIX}")));
    (!authorized).then(|| {
        let body = steadfast_wire::gemini::error_body(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        );
        (StatusCode::UNAUTHORIZED, Json(body)).into_response()
    })
}

/// `POST /{v1,v1beta1}/projects/{project}/locations/{location}/publishers/{publisher}/models/{call}`.
pub(super) async fn call(
    State(state): State<Arc<MockState>>,
    Path((_project, _location, publisher, call)): Path<(String, String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = refused(&headers) {
        return refusal;
    }
    state.control.note_headers(&headers);
    match publisher.as_str() {
        "google" => gemini::answer(&state, &call, &uri, &headers, &body).await,
        "anthropic" => {
            let Some((_model, method)) = call.split_once(':') else {
                return StatusCode::NOT_FOUND.into_response();
            };
            let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
            // An `anthropic_version` in the body, the model in the URL only.
            // Clients send `vertex-2023-10-16` (the gateway, earlier SDKs) or
            // the API version date (the official AnthropicVertex client of
            // anthropic 2.12 sends `2026-10-21`): any version is taken.
            let versioned = parsed["anthropic_version"]
                .as_str()
                .is_some_and(|version| !version.is_empty());
            if !versioned || parsed.get("model").is_some() {
                let body = steadfast_wire::anthropic::error_body(
                    "invalid_request_error",
                    "anthropic_version is required (e.g. vertex-2023-10-16), and model goes in the URL",
                );
                return (StatusCode::BAD_REQUEST, Json(body)).into_response();
            }
            let streamed = method == "streamRawPredict";
            if parsed["stream"].as_bool().unwrap_or(false) != streamed {
                return StatusCode::BAD_REQUEST.into_response();
            }
            state.control.note_uri(&uri.to_string());
            anthropic::messages(State(state), headers, body).await
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
