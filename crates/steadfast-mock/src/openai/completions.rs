//! Legacy text completions (`POST /v1/completions`, plain and streamed) and
//! embeddings (`POST /v1/embeddings`, a deterministic vector per input).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use steadfast_wire::Format;

use super::admit;
use crate::MockState;
use crate::control::Mode;
use crate::respond::{bad_request, echo, sse_response, tokens};

/// `POST /v1/completions`: a legacy text completion, plain or streamed.
pub(crate) async fn completions(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request(
            Format::Openai,
            "We could not parse the JSON body of your request.",
        );
    };
    let Some(prompt) = body["prompt"].as_str().map(str::to_owned).or_else(|| {
        body["prompt"]
            .as_array()
            .map(|parts| Value::Array(parts.clone()).to_string())
    }) else {
        return bad_request(Format::Openai, "'prompt' is a required property");
    };
    let (guard, faults) = match admit(&state, &headers, &body).await {
        Ok(admitted) => admitted,
        Err(instead) => return instead,
    };
    let model = body["model"].as_str().unwrap_or("mock").to_owned();
    let text = echo(&state.name, &prompt);
    let (prompt_tokens, completion_tokens) = (tokens(&prompt), tokens(&text));
    let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                       "total_tokens": prompt_tokens + completion_tokens});
    let completion = |text: &str, finish: Option<&str>| {
        json!({"id": "cmpl-mock", "object": "text_completion", "created": 1_700_000_000,
               "model": model, "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": finish}]})
    };
    if body["stream"].as_bool() == Some(true) {
        let mut events: Vec<Bytes> = text
            .split_inclusive(' ')
            .map(|word| Bytes::from(format!("data: {}\n\n", completion(word, None))))
            .collect();
        let mut last = completion("", Some("stop"));
        last["usage"] = usage;
        events.push(Bytes::from(format!("data: {last}\n\n")));
        events.push(Bytes::from_static(b"data: [DONE]\n\n"));
        let cut_after = (faults.mode == Mode::CutStream).then_some(faults.cut_after);
        let interval = Duration::from_millis(faults.chunk_interval_ms);
        return sse_response(events, cut_after, interval, guard);
    }
    guard.complete();
    let mut answer = completion(&text, Some("stop"));
    answer["usage"] = usage;
    Json(answer).into_response()
}

/// `POST /v1/embeddings`: a deterministic vector per input.
pub(crate) async fn embeddings(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request(
            Format::Openai,
            "We could not parse the JSON body of your request.",
        );
    };
    let inputs: Vec<String> = match &body["input"] {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().map(|item| item.to_string()).collect(),
        _ => return bad_request(Format::Openai, "'input' is a required property"),
    };
    let (guard, _) = match admit(&state, &headers, &body).await {
        Ok(admitted) => admitted,
        Err(instead) => return instead,
    };
    guard.complete();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": embed(text)}))
        .collect();
    let tokens: u64 = inputs.iter().map(|text| tokens(text)).sum();
    Json(json!({
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
    }))
    .into_response()
}

/// A deterministic 8-dimensional embedding of `text`.
fn embed(text: &str) -> Vec<f32> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    (0..8)
        .map(|_| {
            for byte in text.bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
            hash = hash.rotate_left(17);
            (hash % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}
