//! The OpenAI wire format of the simulated provider: chat completions (plain
//! and streamed), embeddings and the models list.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use steadfast_wire::Format;

use super::MockState;
use super::control::{Faults, Mode, RequestGuard};
use super::respond::{
    Verdict, authorization, bad_request, event_stream, judge, refused_prefill, shape_stream,
    sse_response, stream_error_event, tokens,
};

/// The deterministic answer text for a request.
fn answer_text(name: &str, body: &Value) -> String {
    let last = body["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .map(|message| match &message["content"] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    super::respond::echo(name, &last)
}

pub(super) async fn chat(
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
    if !body["messages"].is_array() {
        return bad_request(Format::Openai, "'messages' is a required property");
    }
    let control = &state.control;
    let guard = control.begin(&body, authorization(&headers));
    control.note_headers(&headers);
    let faults = control.faults();
    if let Some(refused) = refused_prefill(Format::Openai, &faults, &body) {
        guard.fail();
        return refused;
    }
    match judge(control, &faults, state.kind).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => {
            guard.fail();
            return response;
        }
        Verdict::Hang => {
            std::future::pending::<()>().await;
        }
    }
    let model = if faults.answer_model.is_empty() {
        body["model"].as_str().unwrap_or("mock").to_owned()
    } else {
        faults.answer_model.clone()
    };
    let text = if faults.reply.is_empty() {
        answer_text(&state.name, &body)
    } else {
        faults.reply.clone()
    };
    let prompt_tokens = tokens(&body["messages"].to_string());
    if body["stream"].as_bool() == Some(true) {
        let include_usage = body["stream_options"]["include_usage"].as_bool() == Some(true);
        let cut_after = (faults.mode == Mode::CutStream).then_some(faults.cut_after);
        let error_after = (faults.mode == Mode::StreamError)
            .then(|| (faults.cut_after as usize, stream_error_event(&faults)));
        let interval = Duration::from_millis(faults.chunk_interval_ms);
        if faults.mode == Mode::EndlessStream {
            return endless_chat(&model, &text, interval, guard);
        }
        return stream_chat(StreamPlan {
            model,
            text,
            prompt_tokens,
            include_usage,
            cut_after,
            error_after,
            interval,
            guard,
            faults,
        });
    }
    guard.complete();
    let completion_tokens = tokens(&text);
    Json(json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens
        }
    }))
    .into_response()
}

struct StreamPlan {
    model: String,
    text: String,
    prompt_tokens: u64,
    include_usage: bool,
    cut_after: Option<u32>,
    /// Replace the events from this one on with this error event.
    error_after: Option<(usize, Bytes)>,
    interval: Duration,
    guard: RequestGuard,
    faults: Faults,
}

fn chunk(model: &str, delta: Value, finish: Option<&str>) -> Bytes {
    let event = json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    Bytes::from(format!("data: {event}\n\n"))
}

fn stream_chat(plan: StreamPlan) -> Response {
    let mut events = vec![chunk(
        &plan.model,
        json!({"role": "assistant", "content": ""}),
        None,
    )];
    let words: Vec<&str> = plan.text.split_inclusive(' ').collect();
    for word in &words {
        events.push(chunk(&plan.model, json!({"content": word}), None));
    }
    events.push(chunk(&plan.model, json!({}), Some("stop")));
    if plan.include_usage {
        let completion = words.len() as u64;
        let usage = json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": plan.model, "choices": [],
            "usage": {"prompt_tokens": plan.prompt_tokens, "completion_tokens": completion,
                      "total_tokens": plan.prompt_tokens + completion}
        });
        events.push(Bytes::from(format!("data: {usage}\n\n")));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    if let Some((after, error)) = plan.error_after {
        events.truncate(after);
        events.push(error);
    }
    let events = shape_stream(events, &plan.faults);
    sse_response(events, plan.cut_after, plan.interval, plan.guard)
}

/// A chat stream that never ends: a chunk carrying `text` every `interval`.
/// The request counts as cancelled when the client goes.
fn endless_chat(model: &str, text: &str, interval: Duration, guard: RequestGuard) -> Response {
    let first = chunk(model, json!({"role": "assistant", "content": ""}), None);
    let more = chunk(model, json!({"content": text}), None);
    let rest = futures_util::stream::unfold(guard, move |guard| {
        let more = more.clone();
        async move {
            tokio::time::sleep(interval).await;
            Some((Ok::<_, std::io::Error>(more), guard))
        }
    });
    event_stream(futures_util::stream::once(async move { Ok(first) }).chain(rest))
}

/// `POST /v1/completions`: a legacy text completion, plain or streamed.
pub(super) async fn completions(
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
    let control = &state.control;
    let guard = control.begin(&body, authorization(&headers));
    control.note_headers(&headers);
    let faults = control.faults();
    if let Some(refused) = refused_prefill(Format::Openai, &faults, &body) {
        guard.fail();
        return refused;
    }
    match judge(control, &faults, state.kind).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => {
            guard.fail();
            return response;
        }
        Verdict::Hang => std::future::pending::<()>().await,
    }
    let model = body["model"].as_str().unwrap_or("mock").to_owned();
    let text = super::respond::echo(&state.name, &prompt);
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

pub(super) async fn embeddings(
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
    let control = &state.control;
    let guard = control.begin(&body, authorization(&headers));
    control.note_headers(&headers);
    let faults = control.faults();
    if let Some(refused) = refused_prefill(Format::Openai, &faults, &body) {
        guard.fail();
        return refused;
    }
    match judge(control, &faults, state.kind).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => {
            guard.fail();
            return response;
        }
        Verdict::Hang => std::future::pending::<()>().await,
    }
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

pub(super) async fn models(State(state): State<Arc<MockState>>) -> Response {
    let control = &state.control;
    control.count_model_list();
    match judge(control, &control.faults(), state.kind).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => return response,
        Verdict::Hang => std::future::pending::<()>().await,
    }
    Json(json!({
        "object": "list",
        "data": [{"id": state.name, "object": "model", "created": 1_700_000_000, "owned_by": "steadfast-mock"}]
    }))
    .into_response()
}
