//! The Anthropic Messages API of the simulated provider: messages (plain and
//! streamed, with tool use when the request offers tools) and the models list.
//!
//! Where each shape comes from:
//! - the message and its `usage`, `stop_reason` (`end_turn`, `tool_use`) and
//!   errors: the API reference, <https://docs.anthropic.com/en/api/messages>
//!   and <https://docs.anthropic.com/en/api/errors>;
//! - the event stream (`message_start`, `ping`, `content_block_start`, text
//!   and `input_json_delta` deltas, `content_block_stop`, `message_delta`,
//!   `message_stop`): <https://docs.anthropic.com/en/docs/build-with-claude/streaming>;
//! - a `tool_use` block after the text, its input streamed as JSON pieces:
//!   <https://docs.anthropic.com/en/docs/build-with-claude/tool-use>;
//! - the model list (`data`, `has_more`, `first_id`, `last_id`):
//!   <https://docs.anthropic.com/en/api/models-list>.
//!
//! The refusal of an empty text block, in the API's words, rests on reports
//! of the live API. Which tool is called, with what, follows the rule every
//! simulated format shares (`respond::tool_call`). The official
//! `AnthropicVertex` client reads these answers, plain and streamed
//! (`tests/it/python/anthropic_vertex.py`).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_wire::Format;

use super::MockState;
use super::control::Mode;
use super::respond::{
    Verdict, authorization, bad_request, echo, halves, judge, refused_prefill, shape_stream,
    sse_response, takes_structured_output, tokens, tool_call,
};

const KIND: Format = Format::Anthropic;

/// What the simulated model says: text, then maybe a tool call.
struct Answer {
    text: String,
    tool: Option<(String, Value)>,
}

impl Answer {
    /// Calls the first offered tool with the user's words, unless the last
    /// message already carries a tool result, which it then repeats.
    fn to(name: &str, body: &Value) -> Answer {
        let last = body["messages"]
            .as_array()
            .and_then(|messages| messages.last())
            .map(|message| &message["content"]);
        let said = last.map(text_of).unwrap_or_default();
        let answered_tool = last
            .and_then(Value::as_array)
            .is_some_and(|blocks| blocks.iter().any(|block| block["type"] == "tool_result"));
        match tool_call(body["tools"][0]["name"].as_str(), &said, answered_tool) {
            Some((tool, input)) => Answer {
                text: format!("{name} calls {tool}."),
                tool: Some((tool, input)),
            },
            None => Answer {
                text: echo(name, &said),
                tool: None,
            },
        }
    }

    fn stop_reason(&self) -> &'static str {
        if self.tool.is_some() {
            "tool_use"
        } else {
            "end_turn"
        }
    }
}

/// The text of a content (a string, or text and tool result blocks).
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .map(|block| match block["type"].as_str() {
                Some("text") => block["text"].as_str().unwrap_or_default().to_owned(),
                Some("tool_result") => text_of(&block["content"]),
                _ => String::new(),
            })
            .collect(),
        _ => String::new(),
    }
}

pub(super) async fn messages(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request(KIND, "There was an error parsing the body of your request.");
    };
    if !body["messages"].is_array() {
        return bad_request(KIND, "messages: Field required");
    }
    if !body["max_tokens"].is_u64() {
        return bad_request(KIND, "max_tokens: Field required");
    }
    // The Messages API refuses an empty text block (its own words).
    let empty_text = body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|message| {
            message["content"].as_array().is_some_and(|blocks| {
                blocks
                    .iter()
                    .any(|block| block["type"] == "text" && block["text"] == "")
            })
        });
    if empty_text {
        return bad_request(KIND, "messages: text content blocks must be non-empty");
    }
    // Structured outputs: only the models the guide names take a schema,
    // and only as `{"type": "json_schema", "schema": {…}}` (the SDK's
    // `JSONOutputFormatParam`); the refusals' wording is ours.
    if let Some(format) = body["output_config"].get("format") {
        let model = body["model"].as_str().unwrap_or_default();
        if !takes_structured_output(model) {
            return bad_request(
                KIND,
                &format!("'{model}' does not support output_config.format."),
            );
        }
        if format["type"] != "json_schema" || !format["schema"].is_object() {
            return bad_request(
                KIND,
                "output_config.format: must be {\"type\": \"json_schema\", \"schema\": {...}}",
            );
        }
    }
    let control = &state.control;
    let guard = control.begin(&body, authorization(&headers));
    let faults = control.faults();
    if let Some(refused) = refused_prefill(Format::Anthropic, &faults, &body) {
        guard.fail();
        return refused;
    }
    match judge(control, &faults, ProviderKind::Anthropic).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => {
            guard.fail();
            return response;
        }
        Verdict::Hang => std::future::pending::<()>().await,
    }
    let model = if faults.answer_model.is_empty() {
        body["model"].as_str().unwrap_or("mock").to_owned()
    } else {
        faults.answer_model.clone()
    };
    let mut answer = Answer::to(&state.name, &body);
    if !faults.reply.is_empty() {
        answer.text.clone_from(&faults.reply);
    }
    let input_tokens = tokens(&body["messages"].to_string());
    let output_tokens = tokens(&answer.text) + u64::from(answer.tool.is_some());
    if body["stream"].as_bool() == Some(true) {
        let cut_after = (faults.mode == Mode::CutStream).then_some(faults.cut_after);
        let events = shape_stream(
            stream_events(&model, &answer, input_tokens, output_tokens),
            &faults,
        );
        let interval = Duration::from_millis(faults.chunk_interval_ms);
        return sse_response(events, cut_after, interval, guard);
    }
    guard.complete();
    let mut content = vec![json!({"type": "text", "text": answer.text})];
    if let Some((name, input)) = &answer.tool {
        content
            .push(json!({"type": "tool_use", "id": "toolu_mock_1", "name": name, "input": input}));
    }
    Json(json!({
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": answer.stop_reason(),
        "stop_sequence": null,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}
    }))
    .into_response()
}

fn event(data: &Value) -> Bytes {
    let name = data["type"].as_str().unwrap_or_default();
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// The events of a streamed answer, as the Messages API sends them.
fn stream_events(
    model: &str,
    answer: &Answer,
    input_tokens: u64,
    output_tokens: u64,
) -> Vec<Bytes> {
    let mut events = vec![
        event(&json!({"type": "message_start", "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1}
        }})),
        event(&json!({"type": "ping"})),
        event(
            &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    for word in answer.text.split_inclusive(' ') {
        events.push(event(&json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": word}})));
    }
    events.push(event(&json!({"type": "content_block_stop", "index": 0})));
    if let Some((name, input)) = &answer.tool {
        events.push(event(&json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_mock_1", "name": name, "input": {}}})));
        let arguments = input.to_string();
        let (head, tail) = halves(&arguments);
        for piece in ["", head, tail] {
            events.push(event(&json!({"type": "content_block_delta", "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": piece}})));
        }
        events.push(event(&json!({"type": "content_block_stop", "index": 1})));
    }
    events.push(event(&json!({"type": "message_delta",
        "delta": {"stop_reason": answer.stop_reason(), "stop_sequence": null},
        "usage": {"output_tokens": output_tokens}})));
    events.push(event(&json!({"type": "message_stop"})));
    events
}

pub(super) async fn models(State(state): State<Arc<MockState>>) -> Response {
    let control = &state.control;
    control.count_model_list();
    match judge(control, &control.faults(), ProviderKind::Anthropic).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => return response,
        Verdict::Hang => std::future::pending::<()>().await,
    }
    Json(json!({
        "data": [{"type": "model", "id": state.name, "display_name": state.name, "created_at": "2025-01-01T00:00:00Z"}],
        "has_more": false,
        "first_id": state.name,
        "last_id": state.name
    }))
    .into_response()
}
