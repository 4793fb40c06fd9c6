//! Responses API answers (`response` objects) to and from the canonical
//! [`ChatResponse`].

use serde_json::{Value, json};

use crate::{ChatResponse, FinishReason, ToolCall, Usage, WireError};

/// Reads a `response` object.
pub fn parse_response(body: &Value) -> Result<ChatResponse, WireError> {
    let output = body["output"]
        .as_array()
        .ok_or_else(|| WireError::new("the answer has no output"))?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for item in output {
        match item["type"].as_str() {
            Some("message") => {
                for part in item["content"].as_array().into_iter().flatten() {
                    if part["type"] == "output_text" {
                        text.push_str(part["text"].as_str().unwrap_or_default());
                    }
                }
            }
            Some("function_call") => tool_calls.push(ToolCall {
                id: item["call_id"].as_str().unwrap_or_default().to_owned(),
                name: item["name"].as_str().unwrap_or_default().to_owned(),
                arguments: item["arguments"].as_str().unwrap_or("{}").to_owned(),
            }),
            _ => {}
        }
    }
    let finish = match body["incomplete_details"]["reason"].as_str() {
        Some("max_output_tokens") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        Some("degraded") => FinishReason::Degraded,
        _ if !tool_calls.is_empty() => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    };
    Ok(ChatResponse {
        id: body["id"].as_str().unwrap_or_default().to_owned(),
        model: body["model"].as_str().unwrap_or_default().to_owned(),
        text,
        tool_calls,
        finish,
        usage: Usage {
            input: body["usage"]["input_tokens"].as_u64().unwrap_or_default(),
            output: body["usage"]["output_tokens"].as_u64().unwrap_or_default(),
        },
    })
}

/// A message output item holding `text`.
pub(super) fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "type": "message", "id": id, "status": status, "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    })
}

/// A function call output item.
pub(super) fn call_item(id: &str, call: &ToolCall, status: &str) -> Value {
    json!({
        "type": "function_call", "id": id, "call_id": call.id, "name": call.name,
        "arguments": call.arguments, "status": status,
    })
}

/// A whole `response` object: `output` items, the status that `finish`
/// gives (`incomplete` for the token limit or a content filter), `usage`.
pub(super) fn response_object(
    id: &str,
    model: &str,
    created_at: u64,
    output: Vec<Value>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
) -> Value {
    let (status, incomplete) = match finish {
        None => ("in_progress", Value::Null),
        Some(FinishReason::Length) => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some(FinishReason::ContentFilter) => ("incomplete", json!({"reason": "content_filter"})),
        Some(FinishReason::Degraded) => ("incomplete", json!({"reason": "degraded"})),
        Some(FinishReason::Stop | FinishReason::ToolCalls) => ("completed", Value::Null),
    };
    json!({
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "model": model,
        "output": output,
        "usage": usage.map(|usage| json!({
            "input_tokens": usage.input,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage.output,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage.total(),
        })),
        "error": null,
        "incomplete_details": incomplete,
        "instructions": null,
        "metadata": {},
        "parallel_tool_calls": true,
        "temperature": null,
        "top_p": null,
        "tool_choice": "auto",
        "tools": [],
    })
}

/// Writes `response` as a `response` object.
pub fn write_response(response: &ChatResponse) -> Value {
    let id = super::response_id(&response.id);
    let mut output = Vec::new();
    if !response.text.is_empty() || response.tool_calls.is_empty() {
        output.push(message_item(
            &format!("msg_{id}"),
            &response.text,
            "completed",
        ));
    }
    for (index, call) in response.tool_calls.iter().enumerate() {
        output.push(call_item(&format!("fc_{index}_{id}"), call, "completed"));
    }
    response_object(
        &id,
        &response.model,
        crate::clock::unix_secs(),
        output,
        Some(response.finish),
        Some(response.usage),
    )
}
