//! Converse answers to and from the canonical [`ChatResponse`].

use serde_json::{Value, json};

use crate::{ChatResponse, FinishReason, ToolCall, Usage, WireError};

/// Reads a Converse answer.
pub fn parse_response(body: &Value) -> Result<ChatResponse, WireError> {
    let content = body["output"]["message"]["content"]
        .as_array()
        .ok_or_else(|| WireError::new("the answer has no output.message.content"))?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in content {
        if let Some(piece) = block["text"].as_str() {
            text.push_str(piece);
        } else if let Some(call) = block.get("toolUse") {
            tool_calls.push(ToolCall {
                id: call["toolUseId"].as_str().unwrap_or_default().to_owned(),
                name: call["name"].as_str().unwrap_or_default().to_owned(),
                arguments: call
                    .get("input")
                    .map_or_else(|| "{}".to_owned(), Value::to_string),
            });
        }
    }
    Ok(ChatResponse {
        id: String::new(),
        model: String::new(),
        text,
        tool_calls,
        finish: body["stopReason"]
            .as_str()
            .map_or(FinishReason::Stop, parse_stop_reason),
        usage: usage_of(&body["usage"]),
    })
}

/// A `usage` object.
pub(super) fn usage_of(usage: &Value) -> Usage {
    Usage {
        input: usage["inputTokens"].as_u64().unwrap_or_default(),
        output: usage["outputTokens"].as_u64().unwrap_or_default(),
    }
}

/// Bedrock's `stopReason`.
pub(super) fn parse_stop_reason(reason: &str) -> FinishReason {
    match reason {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// The `stopReason` of `reason`.
pub(super) fn stop_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "content_filtered",
        FinishReason::Degraded => "end_turn",
    }
}

/// Writes `response` as a Converse answer.
pub fn write_response(response: &ChatResponse) -> Value {
    let mut content = Vec::new();
    if !response.text.is_empty() || response.tool_calls.is_empty() {
        content.push(json!({"text": response.text}));
    }
    content.extend(response.tool_calls.iter().map(|call| {
        let input = serde_json::from_str::<Value>(&call.arguments).unwrap_or_else(|_| json!({}));
        json!({"toolUse": {"toolUseId": call.id, "name": call.name, "input": input}})
    }));
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason(response.finish),
        "usage": {"inputTokens": response.usage.input, "outputTokens": response.usage.output, "totalTokens": response.usage.total()},
    })
}
