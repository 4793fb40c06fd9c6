//! The Messages API's server-sent events (`message_start`,
//! `content_block_start`/`_delta`/`_stop`, `message_delta`, `message_stop`,
//! `ping`, `error`) to and from canonical [`StreamEvent`]s.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Value, json};

use super::error::{error_body, stream_error};
use super::response::{parse_stop_reason, stop_reason, usage_of};
use crate::{Decode, DecodeError, Encode, FinishReason, Resumption, StreamEvent, Usage};

/// Reads Messages API events.
#[derive(Debug, Default)]
pub struct Decoder {
    input_tokens: u64,
    /// Content block index → tool call index.
    tools: HashMap<u64, usize>,
    /// Content blocks opened so far (one past the highest index seen).
    blocks: usize,
    /// The text block still open, if any.
    open_text: Option<usize>,
}

impl Decode for Decoder {
    fn decode(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), DecodeError> {
        let event = crate::stream::json_object(data)?;
        let block = event["index"].as_u64().unwrap_or_default();
        match event["type"].as_str().unwrap_or_default() {
            "message_start" => {
                let message = &event["message"];
                self.input_tokens = usage_of(&message["usage"]).map_or(0, |usage| usage.input);
                out.push(StreamEvent::Start {
                    id: message["id"].as_str().unwrap_or_default().to_owned(),
                    model: message["model"].as_str().unwrap_or_default().to_owned(),
                });
                // The prompt's tokens are known from the start: a stream that
                // breaks before its end still tells what it cost.
                if self.input_tokens > 0 {
                    out.push(StreamEvent::Usage(Usage {
                        input: self.input_tokens,
                        output: 0,
                    }));
                }
            }
            "content_block_start" => {
                let start = &event["content_block"];
                let index = usize::try_from(block).unwrap_or(usize::MAX);
                self.blocks = self.blocks.max(index.saturating_add(1));
                match start["type"].as_str() {
                    Some("text") => {
                        self.open_text = Some(index);
                        push_text(out, &start["text"]);
                    }
                    Some("tool_use") => {
                        let index = self.tools.len();
                        self.tools.insert(block, index);
                        out.push(StreamEvent::ToolCallStart {
                            index,
                            id: start["id"].as_str().unwrap_or_default().to_owned(),
                            name: start["name"].as_str().unwrap_or_default().to_owned(),
                        });
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let delta = &event["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => push_text(out, &delta["text"]),
                    Some("input_json_delta") => {
                        let fragment = delta["partial_json"].as_str().unwrap_or_default();
                        if let (Some(&index), false) = (self.tools.get(&block), fragment.is_empty())
                        {
                            out.push(StreamEvent::ToolCallArguments {
                                index,
                                fragment: fragment.to_owned(),
                            });
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = event["delta"]["stop_reason"].as_str() {
                    out.push(StreamEvent::Finish(parse_stop_reason(reason)));
                }
                let usage = &event["usage"];
                out.push(StreamEvent::Usage(Usage {
                    input: usage_of(usage).map_or(self.input_tokens, |usage| usage.input),
                    output: usage["output_tokens"].as_u64().unwrap_or_default(),
                }));
            }
            "content_block_stop" if self.open_text == usize::try_from(block).ok() => {
                self.open_text = None;
            }
            "message_stop" => out.push(StreamEvent::End),
            "error" => return Err(stream_error(&event, data).into()),
            _ => {}
        }
        Ok(())
    }

    fn blocks(&self) -> (usize, Option<usize>) {
        (self.blocks, self.open_text)
    }
}

fn push_text(out: &mut Vec<StreamEvent>, text: &Value) {
    if let Some(text) = text.as_str().filter(|text| !text.is_empty()) {
        out.push(StreamEvent::Text(text.to_owned()));
    }
}

/// Writes Messages API events.
#[derive(Debug, Default)]
pub struct Encoder {
    /// The open content block: its index and whether it is text.
    open: Option<(usize, bool)>,
    blocks: usize,
    /// Tool call index → content block index.
    tools: HashMap<usize, usize>,
    finish: Option<FinishReason>,
    usage: Usage,
}

/// One server-sent event named `name`.
fn event(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

impl Encoder {
    fn close(&mut self, out: &mut Vec<Bytes>) {
        if let Some((index, _)) = self.open.take() {
            out.push(event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            ));
        }
    }

    fn open(&mut self, block: Value, text: bool, out: &mut Vec<Bytes>) -> usize {
        self.close(out);
        let index = self.blocks;
        self.blocks = self.blocks.saturating_add(1);
        self.open = Some((index, text));
        out.push(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        ));
        index
    }

    fn delta(index: usize, delta: Value) -> Bytes {
        event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
    }
}

impl Encode for Encoder {
    fn encode(&mut self, item: &StreamEvent, out: &mut Vec<Bytes>) {
        match item {
            StreamEvent::Start { id, model } => out.push(event(
                "message_start",
                &json!({"type": "message_start", "message": {
                    "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                    "stop_reason": null, "stop_sequence": null,
                    "usage": {"input_tokens": 0, "output_tokens": 0},
                }}),
            )),
            StreamEvent::Text(text) => {
                let index = match self.open {
                    Some((index, true)) => index,
                    _ => self.open(json!({"type": "text", "text": ""}), true, out),
                };
                out.push(Encoder::delta(
                    index,
                    json!({"type": "text_delta", "text": text}),
                ));
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                let block = self.open(
                    json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                    false,
                    out,
                );
                self.tools.insert(*index, block);
            }
            StreamEvent::ToolCallArguments { index, fragment } => {
                if let Some(&block) = self.tools.get(index) {
                    out.push(Encoder::delta(
                        block,
                        json!({"type": "input_json_delta", "partial_json": fragment}),
                    ));
                }
            }
            StreamEvent::Finish(reason) => {
                self.close(out);
                self.finish = Some(*reason);
            }
            StreamEvent::Usage(usage) => self.usage = *usage,
            StreamEvent::End => {
                self.close(out);
                let reason = stop_reason(self.finish.unwrap_or(FinishReason::Stop));
                out.push(event(
                    "message_delta",
                    &json!({"type": "message_delta",
                        "delta": {"stop_reason": reason, "stop_sequence": null},
                        "usage": {"input_tokens": self.usage.input, "output_tokens": self.usage.output}}),
                ));
                out.push(event("message_stop", &json!({"type": "message_stop"})));
            }
        }
    }

    fn error(&mut self, message: &str) -> Bytes {
        event("error", &error_body("api_error", message))
    }

    fn terminator(&self) -> Option<Bytes> {
        Some(event("message_stop", &json!({"type": "message_stop"})))
    }

    fn resume(&mut self, at: &Resumption) {
        self.blocks = self.blocks.max(at.blocks);
        self.open = at.open_text.map(|index| (index, true));
    }
}
