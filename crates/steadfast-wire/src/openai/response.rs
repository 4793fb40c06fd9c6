//! OpenAI chat completions (whole answers) to and from the canonical
//! [`ChatResponse`].

use serde_json::{Value, json};

use crate::{ChatResponse, FinishReason, ToolCall, Usage, WireError};

/// Reads an OpenAI chat completion.
pub fn parse_response(body: &Value) -> Result<ChatResponse, WireError> {
    let choice = &body["choices"][0];
    let message = choice
        .get("message")
        .ok_or_else(|| WireError::new("the answer has no choices[0].message"))?;
    let tool_calls = message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|call| ToolCall {
            id: call["id"].as_str().unwrap_or_default().to_owned(),
            name: call["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            arguments: call["function"]["arguments"]
                .as_str()
                .unwrap_or("{}")
                .to_owned(),
        })
        .collect();
    Ok(ChatResponse {
        id: body["id"].as_str().unwrap_or_default().to_owned(),
        model: body["model"].as_str().unwrap_or_default().to_owned(),
        text: message["content"].as_str().unwrap_or_default().to_owned(),
        tool_calls,
        finish: choice["finish_reason"]
            .as_str()
            .map_or(FinishReason::Stop, parse_finish),
        usage: usage_of(body).unwrap_or_default(),
    })
}

/// The `usage` of an answer or chunk, if it has one.
pub fn usage_of(body: &Value) -> Option<Usage> {
    let usage = body.get("usage").filter(|usage| usage.is_object())?;
    Some(Usage {
        input: usage["prompt_tokens"].as_u64().unwrap_or_default(),
        output: usage["completion_tokens"].as_u64().unwrap_or_default(),
    })
}

/// OpenAI's `finish_reason`.
pub(super) fn parse_finish(reason: &str) -> FinishReason {
    match reason {
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        "degraded" => FinishReason::Degraded,
        _ => FinishReason::Stop,
    }
}

/// The `finish_reason` of `reason`.
pub(super) fn finish_name(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::Degraded => "degraded",
    }
}

/// OpenAI's `usage` object.
pub(super) fn write_usage(usage: Usage) -> Value {
    json!({"prompt_tokens": usage.input, "completion_tokens": usage.output, "total_tokens": usage.total()})
}

/// Writes `response` as an OpenAI chat completion.
pub fn write_response(response: &ChatResponse) -> Value {
    let mut message = json!({
        "role": "assistant",
        "content": if response.text.is_empty() && !response.tool_calls.is_empty() {
            Value::Null
        } else {
            Value::String(response.text.clone())
        },
    });
    if !response.tool_calls.is_empty() {
        message["tool_calls"] = response
            .tool_calls
            .iter()
            .map(|call| json!({"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}))
            .collect();
    }
    json!({
        "id": response.id,
        "object": "chat.completion",
        "created": crate::clock::unix_secs(),
        "model": response.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_name(response.finish),
        }],
        "usage": write_usage(response.usage),
    })
}
