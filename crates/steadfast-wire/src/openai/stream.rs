//! OpenAI's streamed chat completions (`chat.completion.chunk` events and a
//! final `data: [DONE]`) to and from canonical [`StreamEvent`]s.

use bytes::Bytes;
use serde_json::{Value, json};
use steadfast::Failure;

use super::response::{finish_name, parse_finish, usage_of, write_usage};
use crate::{Decode, Encode, StreamError, StreamEvent, Usage};

/// Reads OpenAI chunks.
#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
}

impl Decode for Decoder {
    fn decode(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), StreamError> {
        if data.trim() == "[DONE]" {
            out.push(StreamEvent::End);
            return Ok(());
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            return Ok(());
        };
        if let Some(error) = chunk.get("error") {
            return Err(StreamError {
                failure: Failure::transient(),
                message: crate::sanitise::sanitise(
                    error["message"].as_str().unwrap_or("unknown error"),
                ),
            });
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: chunk["id"].as_str().unwrap_or_default().to_owned(),
                model: chunk["model"].as_str().unwrap_or_default().to_owned(),
            });
        }
        if let Some(choice) = chunk["choices"].get(0) {
            let delta = &choice["delta"];
            if let Some(text) = delta["content"].as_str().filter(|text| !text.is_empty()) {
                out.push(StreamEvent::Text(text.to_owned()));
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let index = call["index"].as_u64().unwrap_or_default() as usize;
                let function = &call["function"];
                if let (Some(id), Some(name)) = (call["id"].as_str(), function["name"].as_str()) {
                    out.push(StreamEvent::ToolCallStart {
                        index,
                        id: id.to_owned(),
                        name: name.to_owned(),
                    });
                }
                if let Some(fragment) = function["arguments"].as_str().filter(|f| !f.is_empty()) {
                    out.push(StreamEvent::ToolCallArguments {
                        index,
                        fragment: fragment.to_owned(),
                    });
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                out.push(StreamEvent::Finish(parse_finish(reason)));
            }
        }
        if let Some(usage) = usage_of(&chunk) {
            out.push(StreamEvent::Usage(usage));
        }
        Ok(())
    }
}

/// Writes OpenAI chunks.
#[derive(Debug)]
pub struct Encoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    usage: Option<Usage>,
}

impl Encoder {
    /// An encoder; `include_usage` adds the usage chunk before `[DONE]`, as
    /// OpenAI does when the client sets `stream_options.include_usage`.
    pub fn new(include_usage: bool) -> Encoder {
        Encoder {
            id: String::new(),
            model: String::new(),
            created: crate::clock::unix_secs(),
            include_usage,
            usage: None,
        }
    }

    fn chunk(&self, choices: Value, usage: Option<Value>) -> Bytes {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        });
        if let Some(usage) = usage {
            chunk["usage"] = usage;
        }
        Bytes::from(format!("data: {chunk}\n\n"))
    }

    fn delta(&self, delta: Value, finish: Option<&str>) -> Bytes {
        self.chunk(
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]),
            None,
        )
    }
}

impl Encode for Encoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut Vec<Bytes>) {
        match event {
            StreamEvent::Start { id, model } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                out.push(self.delta(json!({"role": "assistant", "content": ""}), None));
            }
            StreamEvent::Text(text) => out.push(self.delta(json!({"content": text}), None)),
            StreamEvent::ToolCallStart { index, id, name } => out.push(self.delta(
                json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
                None,
            )),
            StreamEvent::ToolCallArguments { index, fragment } => out.push(self.delta(
                json!({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}),
                None,
            )),
            StreamEvent::Finish(reason) => out.push(self.delta(json!({}), Some(finish_name(*reason)))),
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::End => {
                if let (true, Some(usage)) = (self.include_usage, self.usage) {
                    out.push(self.chunk(json!([]), Some(write_usage(usage))));
                }
                out.push(Bytes::from_static(b"data: [DONE]\n\n"));
            }
        }
    }

    fn error(&mut self, message: &str) -> Bytes {
        error_event(message)
    }
}

/// The OpenAI-shaped event that ends a broken stream.
pub fn error_event(message: &str) -> Bytes {
    let event = json!({"error": {"message": message, "type": "upstream_error", "code": "stream_interrupted"}});
    Bytes::from(format!("data: {event}\n\n"))
}
