//! The OpenAI wire format of the simulated provider: chat completions (plain
//! and streamed, with a tool call when the request offers tools), legacy
//! completions, embeddings and the models list. Azure OpenAI answers through
//! it, with its content filter's annotations (`azure::annotations`).
//!
//! Where each shape comes from:
//! - the chat completion, its `choices[].message` (`content`, `tool_calls`
//!   of `{id, type: function, function: {name, arguments}}`), its
//!   `finish_reason` (`stop`, `tool_calls`, `content_filter` when the
//!   content filter withheld content) and `usage`:
//!   <https://platform.openai.com/docs/api-reference/chat/object>;
//! - the chunks of a stream (`chat.completion.chunk`, a first delta with the
//!   role, a final `usage` chunk with no choices on
//!   `stream_options.include_usage`, `data: [DONE]`), a tool call's first
//!   chunk with its `index`, `id`, `type` and `function.name` and
//!   `arguments: ""`, then chunks of argument pieces by `index`:
//!   <https://platform.openai.com/docs/api-reference/chat-streaming/streaming>
//!   and <https://platform.openai.com/docs/guides/function-calling#streaming>;
//!   the official `openai` Python SDK accumulates them
//!   (`openai/lib/streaming/chat/_completions.py`, run by
//!   `tests/it/python/azure_openai.py`);
//! - legacy completions (`text_completion`), embeddings and the model list:
//!   <https://platform.openai.com/docs/api-reference/completions>,
//!   <https://platform.openai.com/docs/api-reference/embeddings>,
//!   <https://platform.openai.com/docs/api-reference/models/list>.
//!
//! Which tool is called, with what, follows the rule every simulated format
//! shares (`respond::tool_call`): a tool's result as the last message is
//! answered in words.

mod completions;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use steadfast_wire::Format;

use super::MockState;
use super::control::{Faults, Mode, RequestGuard};
use super::respond::{
    Verdict, authorization, bad_request, echo, judge, refused_prefill, stream_error_event, tokens,
    tool_call,
};

pub(super) use completions::{completions, embeddings};

/// The id of the simulated model's tool calls.
const CALL_ID: &str = "call_mock_1";

/// What Azure adds to every chat answer: its content filter's verdicts,
/// built by `azure::annotations`.
pub(super) struct Annotations {
    /// `prompt_filter_results`: beside a whole answer's choices, and alone in
    /// a stream's first chunk (whose `choices` is empty).
    pub(super) prompt: Value,
    /// A choice's `content_filter_results` when its content passed.
    pub(super) passed: Value,
    /// Likewise, when the content was withheld (`safety_block` mode).
    pub(super) filtered: Value,
}

impl Annotations {
    /// The `content_filter_results` of a choice: the verdicts on content
    /// that passed or was withheld, `{}` on a choice that carries no text
    /// (a role, a tool call, a finish), as Azure writes them.
    fn verdicts(&self, text: Option<&str>, finish: Option<&str>) -> Value {
        if finish == Some("content_filter") {
            self.filtered.clone()
        } else if text.is_some_and(|text| !text.is_empty()) {
            self.passed.clone()
        } else {
            json!({})
        }
    }
}

/// What the simulated model answers a chat request.
enum Answer {
    /// Words, finishing with `stop`.
    Text(String),
    /// A call of a tool: its name and JSON arguments, finishing with `tool_calls`.
    Call { name: String, arguments: String },
    /// Words the content filter stopped (`safety_block`): a stream carries
    /// the first half of them, a whole answer none; `content_filter`.
    Withheld(String),
}

impl Answer {
    fn finish(&self) -> &'static str {
        match self {
            Answer::Text(_) => "stop",
            Answer::Call { .. } => "tool_calls",
            Answer::Withheld(_) => "content_filter",
        }
    }

    /// What the model wrote, for the token count.
    fn written(&self) -> &str {
        match self {
            Answer::Text(text) | Answer::Withheld(text) => text,
            Answer::Call { arguments, .. } => arguments,
        }
    }

    /// The `message` of a whole answer.
    fn message(&self) -> Value {
        match self {
            Answer::Text(text) => json!({"role": "assistant", "content": text}),
            Answer::Call { name, arguments } => json!({"role": "assistant", "content": null,
                "tool_calls": [{"id": CALL_ID, "type": "function",
                                "function": {"name": name, "arguments": arguments}}]}),
            Answer::Withheld(_) => json!({"role": "assistant", "content": null}),
        }
    }
}

/// Notes an OpenAI-shaped model request and applies the faults to it:
/// the request's guard and the settings it is answered with, or the answer
/// that replaces a normal one (a refused prefill, an injected failure; a
/// hang never answers).
async fn admit(
    state: &MockState,
    headers: &HeaderMap,
    body: &Value,
) -> Result<(RequestGuard, Faults), Response> {
    let control = &state.control;
    let guard = control.begin(body, authorization(headers));
    control.note_headers(headers);
    let faults = control.faults();
    if let Some(refused) = refused_prefill(Format::Openai, &faults, body) {
        guard.fail();
        return Err(refused);
    }
    match judge(control, &faults, state.kind).await {
        Verdict::Answer => Ok((guard, faults)),
        Verdict::Fail(response) => {
            guard.fail();
            Err(response)
        }
        Verdict::Hang => std::future::pending().await,
    }
}

/// The text of a message's content (a string, or text parts).
fn said(message: &Value) -> String {
    match &message["content"] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `POST /v1/chat/completions` of the OpenAI kind.
pub(super) async fn chat(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut response = answer_chat(&state, &headers, &body, None).await;
    if let Some(remaining) = state.control.faults().ratelimit_remaining {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit-requests", HeaderValue::from(RATE_LIMIT));
        headers.insert(
            "x-ratelimit-remaining-requests",
            HeaderValue::from(remaining),
        );
    }
    response
}

/// The request limit the simulated provider tells with `ratelimit_remaining`.
const RATE_LIMIT: u64 = 1000;

/// Answers a chat completion, with `annotations` if the service adds them.
pub(super) async fn answer_chat(
    state: &MockState,
    headers: &HeaderMap,
    body: &Bytes,
    annotations: Option<Annotations>,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return bad_request(
            Format::Openai,
            "We could not parse the JSON body of your request.",
        );
    };
    let Some(messages) = body["messages"].as_array() else {
        return bad_request(Format::Openai, "'messages' is a required property");
    };
    let (guard, faults) = match admit(state, headers, &body).await {
        Ok(admitted) => admitted,
        Err(instead) => return instead,
    };
    let model = if faults.answer_model.is_empty() {
        body["model"].as_str().unwrap_or("mock").to_owned()
    } else {
        faults.answer_model.clone()
    };
    let last = messages.last();
    let words = last.map(said).unwrap_or_default();
    let answered = last.is_some_and(|message| message["role"] == "tool");
    let text = if faults.reply.is_empty() {
        echo(&state.name, &words)
    } else {
        faults.reply.clone()
    };
    let streamed = body["stream"].as_bool() == Some(true);
    let interval = Duration::from_millis(faults.chunk_interval_ms);
    if streamed && faults.mode == Mode::EndlessStream {
        return stream::endless(&model, &text, interval, guard);
    }
    let call = tool_call(
        body["tools"][0]["function"]["name"].as_str(),
        &words,
        answered,
    );
    let answer = match call {
        _ if faults.mode == Mode::SafetyBlock => Answer::Withheld(text),
        Some((name, arguments)) => Answer::Call {
            name,
            arguments: arguments.to_string(),
        },
        None => Answer::Text(text),
    };
    let prompt_tokens = tokens(&body["messages"].to_string());
    if streamed {
        return stream::chat(stream::Plan {
            model,
            answer,
            annotations,
            prompt_tokens,
            include_usage: body["stream_options"]["include_usage"].as_bool() == Some(true),
            cut_after: (faults.mode == Mode::CutStream).then_some(faults.cut_after),
            error_after: (faults.mode == Mode::StreamError)
                .then(|| (faults.cut_after as usize, stream_error_event(&faults))),
            interval,
            guard,
            faults,
        });
    }
    guard.complete();
    let completion_tokens = tokens(answer.written());
    let mut choice =
        json!({"index": 0, "message": answer.message(), "finish_reason": answer.finish()});
    let mut completion = json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens
        }
    });
    if let Some(annotations) = &annotations {
        let text = choice["message"]["content"].as_str();
        choice["content_filter_results"] = annotations.verdicts(text, Some(answer.finish()));
        completion["prompt_filter_results"] = annotations.prompt.clone();
    }
    completion["choices"] = json!([choice]);
    Json(completion).into_response()
}

/// `GET /v1/models`: the model list (health probes).
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
