//! Gemini `GenerateContentResponse`s to and from the canonical
//! [`ChatResponse`]. A prompt blocked for safety (no candidate, a
//! `promptFeedback.blockReason`) is an answer that says so: no text, finish
//! reason content filter.

use serde_json::{Value, json};

use crate::{ChatResponse, FinishReason, ToolCall, Usage, WireError};

/// Reads a Gemini answer.
pub fn parse_response(body: &Value) -> Result<ChatResponse, WireError> {
    let id = body["responseId"].as_str().unwrap_or_default().to_owned();
    let model = body["modelVersion"].as_str().unwrap_or_default().to_owned();
    let usage = usage_of(body).unwrap_or_default();
    let Some(candidate) = body["candidates"].get(0) else {
        if body["promptFeedback"]["blockReason"].is_string() {
            return Ok(ChatResponse {
                id,
                model,
                text: String::new(),
                tool_calls: Vec::new(),
                finish: FinishReason::ContentFilter,
                usage,
            });
        }
        return Err(WireError::new("the answer has no candidates"));
    };
    let (text, tool_calls) = content_of(&candidate["content"], 0);
    let finish = match candidate["finishReason"].as_str() {
        _ if !tool_calls.is_empty() => FinishReason::ToolCalls,
        Some(reason) => parse_finish(reason),
        None => FinishReason::Stop,
    };
    Ok(ChatResponse {
        id,
        model,
        text,
        tool_calls,
        finish,
        usage,
    })
}

/// The text and function calls of a candidate's `content`; calls are
/// numbered from `first_call` (Gemini gives them no id).
pub(super) fn content_of(content: &Value, first_call: usize) -> (String, Vec<ToolCall>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in content["parts"].as_array().into_iter().flatten() {
        if part["thought"].as_bool() == Some(true) {
            continue;
        }
        if let Some(piece) = part["text"].as_str() {
            text.push_str(piece);
        } else if let Some(call) = part.get("functionCall") {
            let id = call["id"].as_str().map_or_else(
                || format!("call_{}", first_call + calls.len()),
                str::to_owned,
            );
            calls.push(ToolCall {
                id,
                name: call["name"].as_str().unwrap_or_default().to_owned(),
                arguments: call
                    .get("args")
                    .map_or_else(|| "{}".to_owned(), Value::to_string),
            });
        }
    }
    (text, calls)
}

/// The `usageMetadata` of an answer or chunk, if it has one; thinking
/// tokens count as output, as they are billed so.
pub(super) fn usage_of(body: &Value) -> Option<Usage> {
    let usage = body
        .get("usageMetadata")
        .filter(|usage| usage.is_object())?;
    let count = |key: &str| usage[key].as_u64().unwrap_or_default();
    Some(Usage {
        input: count("promptTokenCount"),
        output: count("candidatesTokenCount") + count("thoughtsTokenCount"),
    })
}

/// Gemini's `finishReason`.
pub(super) fn parse_finish(reason: &str) -> FinishReason {
    match reason {
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        _ => FinishReason::Stop,
    }
}

/// The `finishReason` of `reason`.
pub(super) fn finish_name(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop | FinishReason::ToolCalls => "STOP",
        FinishReason::Degraded => "OTHER",
        FinishReason::Length => "MAX_TOKENS",
        FinishReason::ContentFilter => "SAFETY",
    }
}

/// Gemini's `usageMetadata`.
pub(super) fn write_usage(usage: Usage) -> Value {
    json!({"promptTokenCount": usage.input, "candidatesTokenCount": usage.output, "totalTokenCount": usage.total()})
}

/// The parts of an answer: its text and function calls.
pub(super) fn write_parts(text: &str, calls: &[ToolCall]) -> Vec<Value> {
    let mut parts = Vec::new();
    if !text.is_empty() {
        parts.push(json!({"text": text}));
    }
    parts.extend(calls.iter().map(|call| {
        let args = serde_json::from_str::<Value>(&call.arguments).unwrap_or_else(|_| json!({}));
        json!({"functionCall": {"name": call.name, "args": args}})
    }));
    parts
}

/// Writes `response` as a Gemini answer.
pub fn write_response(response: &ChatResponse) -> Value {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": write_parts(&response.text, &response.tool_calls)},
            "finishReason": finish_name(response.finish),
            "index": 0,
        }],
        "usageMetadata": write_usage(response.usage),
        "modelVersion": response.model,
        "responseId": response.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_text_calls_usage_and_a_blocked_prompt() {
        let body = json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "Let me check."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
            ]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 5, "thoughtsTokenCount": 3},
            "modelVersion": "gemini-2.5-flash", "responseId": "abc"
        });
        let answer = parse_response(&body).unwrap();
        assert_eq!(answer.text, "Let me check.");
        assert_eq!(answer.tool_calls[0].name, "get_weather");
        assert_eq!(answer.tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(answer.finish, FinishReason::ToolCalls);
        assert_eq!(
            answer.usage,
            Usage {
                input: 12,
                output: 8
            }
        );
        assert_eq!(
            (answer.id.as_str(), answer.model.as_str()),
            ("abc", "gemini-2.5-flash")
        );

        let blocked = json!({"promptFeedback": {"blockReason": "SAFETY"}});
        let answer = parse_response(&blocked).unwrap();
        assert_eq!(
            (answer.text.as_str(), answer.finish),
            ("", FinishReason::ContentFilter)
        );
        assert!(parse_response(&json!({})).is_err());

        let written = write_response(&parse_response(&body).unwrap());
        assert_eq!(
            written["candidates"][0]["content"]["parts"][1]["functionCall"]["name"],
            "get_weather"
        );
        assert_eq!(written["usageMetadata"]["totalTokenCount"], 20);
    }
}
