//! Streamed chat completions: the answer as `chat.completion.chunk` events
//! (words, or a tool call's name then its arguments in pieces), Azure's
//! annotations on them, and the stream faults.

use std::time::Duration;

use axum::body::Bytes;
use axum::response::Response;
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use super::{Annotations, Answer, CALL_ID};
use crate::control::{Faults, RequestGuard};
use crate::respond::{event_stream, halves, shape_stream, sse_response};

/// What a streamed chat answer is made of.
pub(super) struct Plan {
    pub(super) model: String,
    pub(super) answer: Answer,
    pub(super) annotations: Option<Annotations>,
    pub(super) prompt_tokens: u64,
    pub(super) include_usage: bool,
    pub(super) cut_after: Option<u32>,
    /// Replace the events from this one on with this error event.
    pub(super) error_after: Option<(usize, Bytes)>,
    pub(super) interval: Duration,
    pub(super) guard: RequestGuard,
    pub(super) faults: Faults,
}

fn data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// A chunk of one choice: its `delta` and `finish_reason`, and Azure's
/// verdicts on it if annotated.
fn chunk(
    model: &str,
    annotations: Option<&Annotations>,
    delta: Value,
    finish: Option<&str>,
) -> Bytes {
    let mut choice = json!({"index": 0, "delta": delta, "finish_reason": finish});
    if let Some(annotations) = annotations {
        choice["content_filter_results"] =
            annotations.verdicts(choice["delta"]["content"].as_str(), finish);
    }
    data(&json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [choice]
    }))
}

/// The deltas of an answer, in order, before its finish.
fn deltas(answer: &Answer) -> Vec<Value> {
    match answer {
        Answer::Text(text) => words(text, usize::MAX),
        Answer::Withheld(text) => {
            let count = text.split_inclusive(' ').count();
            words(text, count / 2)
        }
        Answer::Call { name, arguments } => {
            let (head, tail) = halves(arguments);
            let piece = |piece: &str| json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]});
            vec![
                json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": CALL_ID,
                    "type": "function", "function": {"name": name, "arguments": ""}}]}),
                piece(head),
                piece(tail),
            ]
        }
    }
}

/// The role, then up to `count` words of `text`, one a delta.
fn words(text: &str, count: usize) -> Vec<Value> {
    let role = json!({"role": "assistant", "content": ""});
    std::iter::once(role)
        .chain(
            text.split_inclusive(' ')
                .take(count)
                .map(|word| json!({"content": word})),
        )
        .collect()
}

/// Streams `plan`'s answer: Azure's prompt verdicts first if annotated (a
/// chunk without choices), the deltas, the finish, the usage if asked, and
/// `data: [DONE]`. The stream faults count the answer's chunks, after the
/// verdicts.
pub(super) fn chat(plan: Plan) -> Response {
    let annotations = plan.annotations.as_ref();
    let mut events = Vec::new();
    for delta in deltas(&plan.answer) {
        events.push(chunk(&plan.model, annotations, delta, None));
    }
    let finish = plan.answer.finish();
    events.push(chunk(&plan.model, annotations, json!({}), Some(finish)));
    if plan.include_usage {
        let completion = crate::respond::tokens(plan.answer.written());
        events.push(data(&json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": plan.model, "choices": [],
            "usage": {"prompt_tokens": plan.prompt_tokens, "completion_tokens": completion,
                      "total_tokens": plan.prompt_tokens + completion}
        })));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    if let Some((after, error)) = plan.error_after {
        events.truncate(after);
        events.push(error);
    }
    let mut events = shape_stream(events, &plan.faults);
    let mut cut_after = plan.cut_after;
    if let Some(annotations) = annotations {
        let verdicts = json!({"id": "", "object": "", "created": 0, "model": "",
            "prompt_filter_results": annotations.prompt, "choices": [], "usage": null});
        events.insert(0, data(&verdicts));
        cut_after = cut_after.map(|after| after + 1);
    }
    sse_response(events, cut_after, plan.interval, plan.guard)
}

/// A chat stream that never ends: a chunk carrying `text` every `interval`.
/// The request counts as cancelled when the client goes.
pub(super) fn endless(
    model: &str,
    text: &str,
    interval: Duration,
    guard: RequestGuard,
) -> Response {
    let first = chunk(
        model,
        None,
        json!({"role": "assistant", "content": ""}),
        None,
    );
    let more = chunk(model, None, json!({"content": text}), None);
    let rest = futures_util::stream::unfold(guard, move |guard| {
        let more = more.clone();
        async move {
            tokio::time::sleep(interval).await;
            Some((Ok::<_, std::io::Error>(more), guard))
        }
    });
    event_stream(futures_util::stream::once(async move { Ok(first) }).chain(rest))
}
