//! Gemini's streamed answers (`streamGenerateContent?alt=sse`: each event a
//! `GenerateContentResponse` with the next parts, the last one with a
//! `finishReason` and the usage; no end marker) to and from canonical
//! [`StreamEvent`]s.

use bytes::Bytes;
use serde_json::{Value, json};
use steadfast::classify::http::classify_status;
use steadfast::{Failure, Outcome};

use super::response::{content_of, finish_name, parse_finish, usage_of, write_parts, write_usage};
use crate::{Decode, DecodeError, Encode, FinishReason, StreamError, StreamEvent, ToolCall, Usage};

/// Reads Gemini stream events.
#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
    calls: usize,
}

impl Decode for Decoder {
    fn decode(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), DecodeError> {
        let chunk = crate::stream::json_object(data)?;
        if let Some(error) = chunk.get("error") {
            let status = error["code"]
                .as_u64()
                .and_then(|code| u16::try_from(code).ok());
            let failure = match classify_status(status.unwrap_or(500), None, data.as_bytes()) {
                Outcome::Failure(failure) => failure,
                Outcome::Success => Failure::transient(),
            };
            return Err(StreamError {
                failure,
                message: crate::sanitise::bounded(
                    error["message"].as_str().unwrap_or("unknown error"),
                ),
            }
            .into());
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: chunk["responseId"].as_str().unwrap_or_default().to_owned(),
                model: chunk["modelVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        let Some(candidate) = chunk["candidates"].get(0) else {
            if chunk["promptFeedback"]["blockReason"].is_string() {
                out.push(StreamEvent::Finish(FinishReason::ContentFilter));
                out.extend(usage_of(&chunk).map(StreamEvent::Usage));
                out.push(StreamEvent::End);
            }
            return Ok(());
        };
        let (text, calls) = content_of(&candidate["content"], self.calls);
        if !text.is_empty() {
            out.push(StreamEvent::Text(text));
        }
        for call in &calls {
            out.extend(StreamEvent::whole_tool_call(self.calls, call));
            self.calls += 1;
        }
        if let Some(reason) = candidate["finishReason"].as_str() {
            let finish = if self.calls > 0 {
                FinishReason::ToolCalls
            } else {
                parse_finish(reason)
            };
            out.push(StreamEvent::Finish(finish));
            out.extend(usage_of(&chunk).map(StreamEvent::Usage));
            out.push(StreamEvent::End);
        }
        Ok(())
    }
}

/// Writes Gemini stream events.
#[derive(Debug, Default)]
pub struct Encoder {
    id: String,
    model: String,
    /// Function calls being streamed, sent whole with the last event.
    calls: Vec<ToolCall>,
    finish: Option<FinishReason>,
    usage: Usage,
}

fn event(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

impl Encode for Encoder {
    fn encode(&mut self, item: &StreamEvent, out: &mut Vec<Bytes>) {
        match item {
            StreamEvent::Start { id, model } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
            }
            StreamEvent::Text(text) => out.push(event(&json!({
                "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}],
                "modelVersion": self.model, "responseId": self.id,
            }))),
            StreamEvent::ToolCallStart { id, name, .. } => self.calls.push(ToolCall {
                id: id.clone(),
                name: name.clone(),
                arguments: String::new(),
            }),
            StreamEvent::ToolCallArguments { index, fragment } => {
                if let Some(call) = self.calls.get_mut(*index) {
                    call.arguments.push_str(fragment);
                }
            }
            StreamEvent::Finish(reason) => self.finish = Some(*reason),
            StreamEvent::Usage(usage) => self.usage = *usage,
            StreamEvent::End => out.push(event(&json!({
                "candidates": [{
                    "content": {"role": "model", "parts": write_parts("", &self.calls)},
                    "finishReason": finish_name(self.finish.unwrap_or(FinishReason::Stop)),
                    "index": 0,
                }],
                "usageMetadata": write_usage(self.usage),
                "modelVersion": self.model, "responseId": self.id,
            }))),
        }
    }

    fn error(&mut self, message: &str) -> Bytes {
        event(&super::error_body(500, "INTERNAL", message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_become_text_then_a_finish_with_usage_and_the_end() {
        let mut decoder = Decoder::default();
        let mut events = Vec::new();
        decoder
            .decode(r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]}}],"modelVersion":"gemini-2.0-flash","responseId":"r1"}"#, &mut events)
            .unwrap();
        decoder
            .decode(r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}"#, &mut events)
            .unwrap();
        assert_eq!(
            events,
            vec![
                StreamEvent::Start {
                    id: "r1".into(),
                    model: "gemini-2.0-flash".into()
                },
                StreamEvent::Text("Hel".into()),
                StreamEvent::Text("lo".into()),
                StreamEvent::Finish(FinishReason::Stop),
                StreamEvent::Usage(Usage {
                    input: 3,
                    output: 2
                }),
                StreamEvent::End,
            ]
        );
    }

    #[test]
    fn a_blocked_prompt_ends_the_stream_as_filtered_and_errors_are_judged() {
        let mut events = Vec::new();
        Decoder::default()
            .decode(r#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":4}}"#, &mut events)
            .unwrap();
        assert!(events.contains(&StreamEvent::Finish(FinishReason::ContentFilter)));
        assert_eq!(events.last(), Some(&StreamEvent::End));
        let error = Decoder::default()
            .decode(r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#, &mut Vec::new())
            .map_err(crate::stream::reported).unwrap_err();
        assert_eq!(error.failure.kind, steadfast::FailureKind::Overloaded);
    }
}
