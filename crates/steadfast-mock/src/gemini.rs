//! Google's Gemini API as the simulated provider speaks it:
//! `POST /v1beta/models/{model}:generateContent`, `…:streamGenerateContent?alt=sse`
//! and `GET /v1beta/models`, an API key in `x-goog-api-key` (or `?key=`),
//! errors in Google's shape (`RESOURCE_EXHAUSTED` with a `RetryInfo` delay),
//! a prompt blocked for safety in `safety_block` mode, and a function call
//! when the request declares functions.
//!
//! Where each rule and shape comes from:
//! - the methods, the request (`contents`, `tools[].functionDeclarations`)
//!   and the answer (`candidates[].content.parts`, `finishReason`,
//!   `usageMetadata`, `modelVersion`, `responseId`, `promptFeedback`):
//!   <https://ai.google.dev/api/generate-content>; the model list:
//!   <https://ai.google.dev/api/models>;
//! - errors (`INVALID_ARGUMENT`, `PERMISSION_DENIED`, `RESOURCE_EXHAUSTED`…):
//!   <https://ai.google.dev/gemini-api/docs/troubleshooting>;
//! - a function call: a `functionCall` part (`name`, `args`) and
//!   `finishReason: STOP`, answered by a `functionResponse` part in the next
//!   user turn: <https://ai.google.dev/gemini-api/docs/function-calling>;
//! - Gemini 3 models put a `thoughtSignature` (opaque, base64) beside the
//!   first function call of an answer, and refuse a history whose model
//!   turn's first call has none:
//!   <https://ai.google.dev/gemini-api/docs/thought-signatures>;
//! - both spellings of a field (`functionCall`, `function_call`): proto3's
//!   JSON mapping, whose parsers take either,
//!   <https://protobuf.dev/programming-guides/json/> (read here by the
//!   mock's own `either`, not the gateway's reader).
//!
//! The words of the refusals (an empty text part, a call without its
//! signature) rest on reports of the live API. The official google-genai
//! SDK reads these answers, function calls and signatures included
//! (`tests/it/python/gemini_official.py`); which function is called, with
//! what, follows the rule every simulated format shares
//! (`respond::tool_call`).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_wire::Format;

use super::MockState;
use super::control::Mode;
use super::respond::{Verdict, bad_request, echo, judge, sse_response, tokens, tool_call};

/// `POST /v1beta/models/{model}:{method}`.
pub(super) async fn call(
    State(state): State<Arc<MockState>>,
    Path(call): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = refused(&headers, &uri) {
        return refusal;
    }
    answer(&state, &call, &uri, &headers, &body).await
}

/// Answers `{model}:{method}` (Gemini's own API and Vertex AI's alike).
pub(super) async fn answer(
    state: &MockState,
    call: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let Some((model, method)) = call.split_once(':') else {
        return not_found();
    };
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        "countTokens" => return count_tokens(state, body).await,
        _ => return not_found(),
    };
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return bad_request(Format::Gemini, "Invalid JSON payload received.");
    };
    let Some(contents) = body["contents"].as_array() else {
        return bad_request(
            Format::Gemini,
            "* GenerateContentRequest.contents: contents is not specified",
        );
    };
    // Gemini refuses an empty text part (the service's own words).
    let empty = contents.iter().any(|content| {
        content["parts"]
            .as_array()
            .is_some_and(|parts| parts.iter().any(|part| part["text"] == ""))
    });
    if empty {
        return bad_request(
            Format::Gemini,
            "Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.",
        );
    }
    // Held to the request Gemini accepts (a JSON Schema only in
    // `parametersJsonSchema`, parts it knows).
    if let Some(Err(error)) = body.as_object().map(steadfast_wire::gemini::parse_request) {
        return bad_request(Format::Gemini, &error.0);
    }
    let signs = model.starts_with("gemini-3");
    if signs {
        if let Some(position) = unsigned_call(contents) {
            return bad_request(
                Format::Gemini,
                &format!(
                    "Function call is missing a thought_signature in functionCall parts. \
                     This is required for tools to work correctly. Position {position}."
                ),
            );
        }
    }
    let last: &[Value] = contents
        .last()
        .and_then(|content| content["parts"].as_array())
        .map_or(&[], Vec::as_slice);
    let said = last
        .iter()
        .find_map(|part| part["text"].as_str())
        .unwrap_or_default()
        .to_owned();
    let answered = last
        .iter()
        .any(|part| either(part, "functionResponse", "function_response").is_some());
    let call = tool_call(first_declared(&body), &said, answered);
    let control = &state.control;
    control.note_uri(&uri.to_string());
    control.note_headers(headers);
    let key = headers.get("x-goog-api-key").and_then(|v| v.to_str().ok());
    let guard = control.begin(&body, key.map(str::to_owned));
    let faults = control.faults();
    match judge(control, &faults, ProviderKind::Gemini).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => {
            guard.fail();
            return response;
        }
        Verdict::Hang => std::future::pending::<()>().await,
    }
    let model = if faults.answer_model.is_empty() {
        model.to_owned()
    } else {
        faults.answer_model.clone()
    };
    let prompt_tokens = tokens(&body["contents"].to_string());
    if faults.mode == Mode::SafetyBlock {
        let blocked = json!({
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}]},
            "usageMetadata": {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens},
            "modelVersion": model, "responseId": "resp-mock",
        });
        if stream {
            return sse_response(vec![event(&blocked)], None, Duration::ZERO, guard);
        }
        guard.complete();
        return Json(blocked).into_response();
    }
    let text = if faults.reply.is_empty() {
        echo(&state.name, &said)
    } else {
        faults.reply.clone()
    };
    // A call is the whole answer, in one part (and one event when streamed).
    let call_part = call.map(|(name, args)| {
        let mut part = json!({"functionCall": {"name": name, "args": args}});
        if signs {
            part["thoughtSignature"] = thought_signature().into();
        }
        part
    });
    let written = call_part.as_ref().map_or_else(
        || text.clone(),
        |part| part["functionCall"]["args"].to_string(),
    );
    let usage = json!({"promptTokenCount": prompt_tokens, "candidatesTokenCount": tokens(&written),
                       "totalTokenCount": prompt_tokens + tokens(&written)});
    let candidate = |part: Value, finish: Option<&str>| {
        let mut candidate = json!({"content": {"role": "model", "parts": [part]}, "index": 0});
        if let Some(finish) = finish {
            candidate["finishReason"] = finish.into();
        }
        json!({"candidates": [candidate], "modelVersion": model, "responseId": "resp-mock"})
    };
    if stream {
        let (words, last_part) = match call_part {
            Some(part) => (Vec::new(), part),
            None => (text.split_inclusive(' ').collect(), json!({"text": ""})),
        };
        let mut events: Vec<Bytes> = words
            .into_iter()
            .map(|word| event(&candidate(json!({"text": word}), None)))
            .collect();
        let mut last = candidate(last_part, Some("STOP"));
        last["usageMetadata"] = usage;
        events.push(event(&last));
        let cut_after = (faults.mode == Mode::CutStream).then_some(faults.cut_after);
        let interval = Duration::from_millis(faults.chunk_interval_ms);
        return sse_response(events, cut_after, interval, guard);
    }
    guard.complete();
    let part = call_part.unwrap_or_else(|| json!({"text": text}));
    let mut answer = candidate(part, Some("STOP"));
    answer["usageMetadata"] = usage;
    Json(answer).into_response()
}

/// The name of the first function the request declares.
fn first_declared(body: &Value) -> Option<&str> {
    body["tools"]
        .as_array()?
        .iter()
        .filter_map(|tool| {
            either(tool, "functionDeclarations", "function_declarations")?.as_array()
        })
        .flatten()
        .find_map(|declaration| declaration["name"].as_str())
}

/// The `thoughtSignature` a Gemini 3 model puts beside its function call:
/// opaque bytes, in base64.
fn thought_signature() -> String {
    base64::engine::general_purpose::STANDARD.encode(b"steadfast-mock thought signature")
}

/// `…/models/{model}:countTokens`: the tokens of a prompt, which costs
/// nothing (health probes on Vertex AI), under the same faults as answers.
async fn count_tokens(state: &MockState, body: &Bytes) -> Response {
    let body = serde_json::from_slice::<Value>(body).unwrap_or_default();
    let Some(contents) = body["contents"].as_array() else {
        return bad_request(
            Format::Gemini,
            "* CountTokensRequest.contents: contents is not specified",
        );
    };
    let control = &state.control;
    control.count_model_list();
    match judge(control, &control.faults(), ProviderKind::Gemini).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => return response,
        Verdict::Hang => std::future::pending::<()>().await,
    }
    let total = tokens(&Value::from(contents.clone()).to_string());
    Json(json!({"totalTokens": total})).into_response()
}

/// `GET /v1beta/models`: the model list (health probes).
pub(super) async fn models(
    State(state): State<Arc<MockState>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refused(&headers, &uri) {
        return refusal;
    }
    let control = &state.control;
    control.count_model_list();
    match judge(control, &control.faults(), ProviderKind::Gemini).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => return response,
        Verdict::Hang => std::future::pending::<()>().await,
    }
    Json(json!({"models": [{"name": format!("models/{}", state.name), "supportedGenerationMethods": ["generateContent", "countTokens"]}]}))
        .into_response()
}

fn event(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\r\n\r\n"))
}

fn not_found() -> Response {
    let body = steadfast_wire::gemini::error_body(404, "NOT_FOUND", "Method not found.");
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// Google's refusal of a call without an API key.
fn refused(headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    let header = headers.get("x-goog-api-key").is_some_and(|v| !v.is_empty());
    let query = uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("key=")));
    (!header && !query).then(|| {
        let body = steadfast_wire::gemini::error_body(
            403,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        );
        (StatusCode::FORBIDDEN, Json(body)).into_response()
    })
}

/// The index of the first model turn whose first function call carries no
/// `thoughtSignature`, which Gemini 3 models refuse.
fn unsigned_call(contents: &[Value]) -> Option<usize> {
    contents.iter().position(|content| {
        content["role"] == "model"
            && content["parts"]
                .as_array()
                .and_then(|parts| {
                    parts
                        .iter()
                        .find(|part| either(part, "functionCall", "function_call").is_some())
                })
                .is_some_and(|call| {
                    !either(call, "thoughtSignature", "thought_signature")
                        .is_some_and(Value::is_string)
                })
    })
}

/// A field in either of proto3 JSON's spellings (`functionCall`,
/// `function_call`), which the API takes alike.
fn either<'v>(value: &'v Value, camel: &str, snake: &str) -> Option<&'v Value> {
    value.get(camel).or_else(|| value.get(snake))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_and_signatures_are_read_in_either_spelling() {
        let body = json!({"tools": [{"function_declarations": [{"name": "weather"}]}]});
        assert_eq!(first_declared(&body), Some("weather"));
        let call = json!({"function_call": {"name": "weather", "args": {}}});
        let unsigned = [
            json!({"role": "user", "parts": [{"text": "Weather?"}]}),
            json!({"role": "model", "parts": [call]}),
        ];
        assert_eq!(unsigned_call(&unsigned), Some(1));
        let mut signed = call.clone();
        signed["thought_signature"] = json!("c2lnbmVk");
        assert_eq!(
            unsigned_call(&[json!({"role": "model", "parts": [signed]})]),
            None
        );
    }
}
