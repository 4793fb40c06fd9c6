//! Messages API answers to and from the canonical [`ChatResponse`].

use serde_json::{Value, json};

use crate::counts::Counts;
use crate::{ChatResponse, FinishReason, ToolCall, Usage, WireError};

/// Reads a Messages API answer.
pub fn parse_response(body: &Value) -> Result<ChatResponse, WireError> {
    let content = body["content"]
        .as_array()
        .ok_or_else(|| WireError::new("the answer has no content"))?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in content {
        match block["type"].as_str() {
            Some("text") => text.push_str(block["text"].as_str().unwrap_or_default()),
            Some("tool_use") => tool_calls.push(ToolCall {
                id: block["id"].as_str().unwrap_or_default().to_owned(),
                name: block["name"].as_str().unwrap_or_default().to_owned(),
                arguments: block
                    .get("input")
                    .map_or_else(|| "{}".to_owned(), Value::to_string),
            }),
            _ => {}
        }
    }
    Ok(ChatResponse {
        id: body["id"].as_str().unwrap_or_default().to_owned(),
        model: body["model"].as_str().unwrap_or_default().to_owned(),
        text,
        tool_calls,
        finish: body["stop_reason"]
            .as_str()
            .map_or(FinishReason::Stop, parse_stop_reason),
        usage: usage_of(&body["usage"]).unwrap_or_default(),
    })
}

/// A `usage` object: input counts cached tokens too, as OpenAI's prompt
/// tokens do. `None` if it has no `input_tokens`.
pub fn usage_of(usage: &Value) -> Option<Usage> {
    Counts::of_value(usage).anthropic()
}

/// Anthropic's `stop_reason`.
pub(super) fn parse_stop_reason(reason: &str) -> FinishReason {
    match reason {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        "degraded" => FinishReason::Degraded,
        _ => FinishReason::Stop,
    }
}

/// The `stop_reason` of `reason`.
pub(super) fn stop_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::Degraded => "degraded",
    }
}

/// Writes `response` as a Messages API answer.
pub fn write_response(response: &ChatResponse) -> Value {
    let mut content = Vec::new();
    if !response.text.is_empty() || response.tool_calls.is_empty() {
        content.push(json!({"type": "text", "text": response.text}));
    }
    content.extend(response.tool_calls.iter().map(|call| {
        let input = serde_json::from_str::<Value>(&call.arguments).unwrap_or_else(|_| json!({}));
        json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input})
    }));
    json!({
        "id": response.id,
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": content,
        "stop_reason": stop_reason(response.finish),
        "stop_sequence": null,
        "usage": {"input_tokens": response.usage.input, "output_tokens": response.usage.output},
    })
}
