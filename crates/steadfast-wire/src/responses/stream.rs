//! The Responses API's typed event stream to and from canonical
//! [`StreamEvent`]s: `response.created` and `response.in_progress`, then per
//! output item `response.output_item.added`, its text or arguments deltas
//! and their `…done` events, `response.output_item.done`, and
//! `response.completed` (or `response.incomplete`) with the whole response.

use bytes::Bytes;
use serde_json::{Value, json};
use steadfast::classify::http::classify_status;
use steadfast::{Failure, Outcome};

use super::response::{call_item, message_item, response_object};
use crate::{Decode, DecodeError, Encode, FinishReason, StreamError, StreamEvent, ToolCall, Usage};

/// Reads Responses API events.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Function call item ids, by tool call index.
    calls: Vec<String>,
}

impl Decode for Decoder {
    fn decode(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), DecodeError> {
        let event = crate::stream::json_object(data)?;
        match event["type"].as_str().unwrap_or_default() {
            "response.created" => out.push(StreamEvent::Start {
                id: event["response"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                model: event["response"]["model"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            }),
            "response.output_text.delta" => {
                if let Some(delta) = event["delta"].as_str().filter(|d| !d.is_empty()) {
                    out.push(StreamEvent::Text(delta.to_owned()));
                }
            }
            "response.output_item.added" if event["item"]["type"] == "function_call" => {
                let item = &event["item"];
                out.push(StreamEvent::ToolCallStart {
                    index: self.calls.len(),
                    id: item["call_id"].as_str().unwrap_or_default().to_owned(),
                    name: item["name"].as_str().unwrap_or_default().to_owned(),
                });
                self.calls
                    .push(item["id"].as_str().unwrap_or_default().to_owned());
            }
            "response.function_call_arguments.delta" => {
                let item = event["item_id"].as_str().unwrap_or_default();
                if let Some(index) = self.calls.iter().position(|id| id == item) {
                    out.push(StreamEvent::ToolCallArguments {
                        index,
                        fragment: event["delta"].as_str().unwrap_or_default().to_owned(),
                    });
                }
            }
            "response.completed" | "response.incomplete" => {
                let response =
                    super::parse_response(&event["response"]).map_err(|error| StreamError {
                        failure: Failure::transient(),
                        message: error.0,
                    })?;
                out.push(StreamEvent::Finish(response.finish));
                out.push(StreamEvent::Usage(response.usage));
                out.push(StreamEvent::End);
            }
            "response.failed" | "error" => {
                let error = if event["type"] == "error" {
                    &event
                } else {
                    &event["response"]["error"]
                };
                let status = match error["code"].as_str().unwrap_or_default() {
                    code if code.contains("rate_limit") => 429,
                    code if code.contains("context_length") => 400,
                    code if code.contains("overloaded") || code == "server_is_overloaded" => 503,
                    _ => 500,
                };
                let failure = match classify_status(status, None, data.as_bytes()) {
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
            _ => {}
        }
        Ok(())
    }
}

/// Writes Responses API events.
#[derive(Debug)]
pub struct Encoder {
    id: String,
    model: String,
    created_at: u64,
    sequence: u64,
    /// Output items finished so far.
    output: Vec<Value>,
    /// The message being written: its item id and text.
    message: Option<(String, String)>,
    /// Function calls being written: item id and call, with their output index.
    calls: Vec<(String, ToolCall, usize)>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl Default for Encoder {
    fn default() -> Encoder {
        Encoder {
            id: String::new(),
            model: String::new(),
            created_at: crate::clock::unix_secs(),
            sequence: 0,
            output: Vec::new(),
            message: None,
            calls: Vec::new(),
            finish: None,
            usage: None,
        }
    }
}

impl Encoder {
    fn event(&mut self, kind: &str, mut data: Value) -> Bytes {
        data["type"] = kind.into();
        data["sequence_number"] = self.sequence.into();
        self.sequence += 1;
        Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
    }

    fn response(&self, finish: Option<FinishReason>) -> Value {
        response_object(
            &self.id,
            &self.model,
            self.created_at,
            self.output.clone(),
            finish,
            self.usage,
        )
    }

    /// Finishes the message being written, if any.
    fn close_message(&mut self, out: &mut Vec<Bytes>) {
        let Some((item, text)) = self.message.take() else {
            return;
        };
        let index = self.output.len();
        let at = json!({"item_id": item, "output_index": index, "content_index": 0});
        let mut done = at.clone();
        done["text"] = text.as_str().into();
        done["logprobs"] = json!([]);
        out.push(self.event("response.output_text.done", done));
        let mut part = at;
        part["part"] = json!({"type": "output_text", "text": text, "annotations": []});
        out.push(self.event("response.content_part.done", part));
        let finished = message_item(&item, &text, "completed");
        out.push(self.event(
            "response.output_item.done",
            json!({"output_index": index, "item": finished}),
        ));
        self.output.push(finished);
    }

    /// Finishes every function call being written.
    fn close_calls(&mut self, out: &mut Vec<Bytes>) {
        for (item, call, index) in std::mem::take(&mut self.calls) {
            out.push(self.event(
                "response.function_call_arguments.done",
                json!({"item_id": item, "output_index": index, "arguments": call.arguments}),
            ));
            let finished = call_item(&item, &call, "completed");
            out.push(self.event(
                "response.output_item.done",
                json!({"output_index": index, "item": finished}),
            ));
            self.output.push(finished);
        }
    }
}

impl Encode for Encoder {
    fn encode(&mut self, item: &StreamEvent, out: &mut Vec<Bytes>) {
        match item {
            StreamEvent::Start { id, model } => {
                self.id = super::response_id(id);
                self.model.clone_from(model);
                let response = self.response(None);
                out.push(self.event("response.created", json!({"response": response})));
                let response = self.response(None);
                out.push(self.event("response.in_progress", json!({"response": response})));
            }
            StreamEvent::Text(text) => {
                if self.message.is_none() {
                    let item = format!("msg_{}", self.id);
                    let index = self.output.len();
                    let added = json!({"type": "message", "id": item, "status": "in_progress", "role": "assistant", "content": []});
                    out.push(self.event(
                        "response.output_item.added",
                        json!({"output_index": index, "item": added}),
                    ));
                    out.push(self.event(
                        "response.content_part.added",
                        json!({"item_id": item, "output_index": index, "content_index": 0,
                               "part": {"type": "output_text", "text": "", "annotations": []}}),
                    ));
                    self.message = Some((item, String::new()));
                }
                let index = self.output.len();
                let item = match &mut self.message {
                    Some((item, written)) => {
                        written.push_str(text);
                        item.clone()
                    }
                    None => return,
                };
                out.push(self.event(
                    "response.output_text.delta",
                    json!({"item_id": item, "output_index": index, "content_index": 0, "delta": text, "logprobs": []}),
                ));
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.close_message(out);
                let item = format!("fc_{index}_{}", self.id);
                let call = ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                };
                let at = self.output.len() + self.calls.len();
                let added = call_item(&item, &call, "in_progress");
                out.push(self.event(
                    "response.output_item.added",
                    json!({"output_index": at, "item": added}),
                ));
                self.calls.push((item, call, at));
            }
            StreamEvent::ToolCallArguments { index, fragment } => {
                let Some((item, call, at)) = self.calls.get_mut(*index) else {
                    return;
                };
                call.arguments.push_str(fragment);
                let data = json!({"item_id": item, "output_index": *at, "delta": fragment});
                out.push(self.event("response.function_call_arguments.delta", data));
            }
            StreamEvent::Finish(reason) => self.finish = Some(*reason),
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::End => {
                self.close_message(out);
                self.close_calls(out);
                let finish = self.finish.unwrap_or(FinishReason::Stop);
                let kind = match finish {
                    FinishReason::Length | FinishReason::ContentFilter | FinishReason::Degraded => {
                        "response.incomplete"
                    }
                    FinishReason::Stop | FinishReason::ToolCalls => "response.completed",
                };
                let response = self.response(Some(finish));
                out.push(self.event(kind, json!({"response": response})));
            }
        }
    }

    fn error(&mut self, message: &str) -> Bytes {
        self.event(
            "error",
            json!({"code": "stream_interrupted", "message": message, "param": null}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canonical events of an answer with text and a tool call, through
    /// the encoder and back through the decoder.
    #[test]
    fn an_encoded_stream_decodes_to_the_same_answer() {
        let events = vec![
            StreamEvent::Start {
                id: "chatcmpl-9".into(),
                model: "gpt-4o".into(),
            },
            StreamEvent::Text("Let me ".into()),
            StreamEvent::Text("check.".into()),
            StreamEvent::ToolCallStart {
                index: 0,
                id: "call_1".into(),
                name: "get_weather".into(),
            },
            StreamEvent::ToolCallArguments {
                index: 0,
                fragment: "{\"city\":".into(),
            },
            StreamEvent::ToolCallArguments {
                index: 0,
                fragment: "\"Paris\"}".into(),
            },
            StreamEvent::Finish(FinishReason::ToolCalls),
            StreamEvent::Usage(Usage {
                input: 9,
                output: 4,
            }),
            StreamEvent::End,
        ];
        let mut encoder = Encoder::default();
        let mut wire = Vec::new();
        for event in &events {
            encoder.encode(event, &mut wire);
        }
        let mut decoder = Decoder::default();
        let mut back = Vec::new();
        for bytes in &wire {
            let text = std::str::from_utf8(bytes).unwrap();
            let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            decoder.decode(data, &mut back).unwrap();
        }
        assert_eq!(
            back[0],
            StreamEvent::Start {
                id: "resp_9".into(),
                model: "gpt-4o".into()
            }
        );
        assert_eq!(back[1..], events[1..], "{back:?}");
        let completed = std::str::from_utf8(wire.last().unwrap()).unwrap();
        assert!(
            completed.starts_with("event: response.completed\n"),
            "{completed}"
        );
        assert!(
            completed.contains("\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\""),
            "{completed}"
        );
    }

    #[test]
    fn a_limit_ends_incomplete_and_errors_are_judged() {
        let mut encoder = Encoder::default();
        let mut wire = Vec::new();
        for event in [
            StreamEvent::Start {
                id: "x".into(),
                model: "m".into(),
            },
            StreamEvent::Finish(FinishReason::Length),
            StreamEvent::End,
        ] {
            encoder.encode(&event, &mut wire);
        }
        let last = std::str::from_utf8(wire.last().unwrap()).unwrap();
        assert!(last.contains("\"reason\":\"max_output_tokens\""), "{last}");
        assert!(last.starts_with("event: response.incomplete\n"), "{last}");
        let error = Decoder::default()
            .decode(r#"{"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null,"sequence_number":3}"#, &mut Vec::new())
            .map_err(crate::stream::reported).unwrap_err();
        assert_eq!(error.failure.kind, steadfast::FailureKind::RateLimited);
    }
}
