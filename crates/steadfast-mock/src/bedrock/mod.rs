//! Amazon Bedrock's Converse API as the simulated provider speaks it:
//! `POST /model/{modelId}/converse` and `…/converse-stream` (answers in AWS's
//! binary event-stream framing), each call's Signature Version 4 checked
//! for the `bedrock` service ([`sigv4`]), requests refused as the service
//! refuses them ([`rules`]), errors as AWS sends them (`x-amzn-ErrorType`
//! and a `message`), exceptions inside a stream. A request that offers
//! tools is answered with a call of the first one (the user's words as its
//! `text` input; `stopReason: tool_use`) unless its last turn already
//! carries a tool result; the shapes are botocore's `ContentBlock` /
//! `ToolUseBlock` and the stream's `contentBlockStart` with `start.toolUse`
//! and `contentBlockDelta` with `delta.toolUse.input` as a JSON string.

mod rules;
mod sigv4;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_wire::bedrock::frame::{event_frame, exception_frame};

use super::MockState;
use super::control::Mode;
use super::respond::{self, Verdict, aws_error, echo, judge, sse_response, tokens};

/// The id the simulated model gives its tool calls.
const TOOL_USE_ID: &str = "tooluse_mock_1";

/// What the simulated model says: text, then maybe a call of a tool with
/// this name and input.
struct Answer {
    text: String,
    tool: Option<(String, Value)>,
}

impl Answer {
    fn stop_reason(&self) -> &'static str {
        if self.tool.is_some() {
            "tool_use"
        } else {
            "end_turn"
        }
    }
}

/// The model's call of a tool, by the rule every simulated provider keeps
/// ([`respond::tool_call`]).
fn tool_call(body: &Value, name: &str, said: &str) -> Option<Answer> {
    let tool = body["toolConfig"]["tools"][0]["toolSpec"]["name"].as_str();
    let answered = body["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .and_then(|last| last["content"].as_array())
        .is_some_and(|content| content.iter().any(|b| b.get("toolResult").is_some()));
    let (tool, input) = respond::tool_call(tool, said, answered)?;
    Some(Answer {
        text: format!("{name} calls {tool}."),
        tool: Some((tool, input)),
    })
}

async fn answer(
    state: &MockState,
    model: &str,
    request: (&Method, &HeaderMap, &Uri),
    body: &Bytes,
    stream: bool,
) -> Response {
    let (method, headers, uri) = request;
    if let Err(refused) = sigv4::verify(method, uri, headers, body, "bedrock", &state.aws_secret) {
        return aws_error(StatusCode::FORBIDDEN, refused.error_type, &refused.message);
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "Malformed input request.",
        );
    };
    if let Some(refused) = rules::refusal(model, &body) {
        return aws_error(StatusCode::BAD_REQUEST, "ValidationException", &refused);
    }
    let said = body["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .and_then(|message| message["content"].as_array())
        .and_then(|content| content.iter().find_map(|block| block["text"].as_str()))
        .unwrap_or_default()
        .to_owned();
    let control = &state.control;
    control.note_uri(&uri.to_string());
    control.note_headers(headers);
    let guard = control.begin(&body, None);
    let faults = control.faults();
    match judge(control, &faults, ProviderKind::Bedrock).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => {
            guard.fail();
            return response;
        }
        Verdict::Hang => std::future::pending::<()>().await,
    }
    let answer = tool_call(&body, &state.name, &said).unwrap_or_else(|| Answer {
        text: if faults.reply.is_empty() {
            echo(&state.name, &said)
        } else {
            faults.reply.clone()
        },
        tool: None,
    });
    let input = tokens(&body["messages"].to_string());
    let output = tokens(&answer.text) + u64::from(answer.tool.is_some());
    let usage =
        json!({"inputTokens": input, "outputTokens": output, "totalTokens": input + output});
    if !stream {
        guard.complete();
        let mut content = vec![json!({"text": answer.text})];
        if let Some((name, input)) = &answer.tool {
            content
                .push(json!({"toolUse": {"toolUseId": TOOL_USE_ID, "name": name, "input": input}}));
        }
        return Json(json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": answer.stop_reason(),
            "usage": usage,
            "metrics": {"latencyMs": 12},
        }))
        .into_response();
    }
    let mut frames = vec![event_frame("messageStart", &json!({"role": "assistant"}))];
    frames.extend(answer.text.split_inclusive(' ').map(|word| {
        event_frame(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": word}}),
        )
    }));
    frames.push(event_frame(
        "contentBlockStop",
        &json!({"contentBlockIndex": 0}),
    ));
    if let Some((name, input)) = &answer.tool {
        let start = json!({"toolUse": {"toolUseId": TOOL_USE_ID, "name": name}});
        frames.push(event_frame(
            "contentBlockStart",
            &json!({"contentBlockIndex": 1, "start": start}),
        ));
        frames.push(event_frame(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": input.to_string()}}}),
        ));
        frames.push(event_frame(
            "contentBlockStop",
            &json!({"contentBlockIndex": 1}),
        ));
    }
    frames.push(event_frame(
        "messageStop",
        &json!({"stopReason": answer.stop_reason()}),
    ));
    frames.push(event_frame(
        "metadata",
        &json!({"usage": usage, "metrics": {"latencyMs": 12}}),
    ));
    if faults.mode == Mode::StreamError {
        frames.truncate(faults.cut_after as usize);
        frames.push(exception_frame(
            "modelStreamErrorException",
            "The model failed mid-stream (simulated)",
        ));
    }
    let cut_after = (faults.mode == Mode::CutStream).then_some(faults.cut_after);
    let mut response = sse_response(
        frames,
        cut_after,
        Duration::from_millis(faults.chunk_interval_ms),
        guard,
    );
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    response
}

/// `POST /model/{modelId}/converse`.
pub(super) async fn converse(
    State(state): State<Arc<MockState>>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&state, &model, (&method, &headers, &uri), &body, false).await
}

/// `POST /model/{modelId}/converse-stream`.
pub(super) async fn converse_stream(
    State(state): State<Arc<MockState>>,
    Path(model): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&state, &model, (&method, &headers, &uri), &body, true).await
}
