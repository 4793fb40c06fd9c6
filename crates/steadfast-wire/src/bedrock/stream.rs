//! ConverseStream events (each event-stream frame read as
//! `{"<type>": <payload>}`: `messageStart`, `contentBlockStart`,
//! `contentBlockDelta`, `contentBlockStop`, `messageStop`, `metadata`, and
//! exceptions) to and from canonical [`StreamEvent`]s.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Value, json};
use steadfast::classify::http::classify_status;
use steadfast::{Failure, Outcome};

use super::frame::{event_frame, exception_frame};
use super::response::{parse_stop_reason, stop_reason, usage_of};
use crate::{Decode, DecodeError, Encode, FinishReason, StreamError, StreamEvent};

/// The HTTP status each ConverseStream exception stands for.
const EXCEPTIONS: [(&str, u16); 6] = [
    ("throttlingException", 429),
    ("serviceUnavailableException", 503),
    ("modelNotReadyException", 503),
    ("validationException", 400),
    ("modelStreamErrorException", 500),
    ("internalServerException", 500),
];

/// Reads ConverseStream events.
#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
    /// Content block index → tool call index.
    tools: HashMap<u64, usize>,
}

impl Decode for Decoder {
    fn decode(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), DecodeError> {
        let Value::Object(event) = crate::stream::json_object(data)? else {
            return Err(DecodeError::Malformed);
        };
        let Some((kind, payload)) = event.iter().next() else {
            return Ok(());
        };
        if let Some(&(_, status)) = EXCEPTIONS.iter().find(|(name, _)| name == kind) {
            let failure = match classify_status(status, None, data.as_bytes()) {
                Outcome::Failure(failure) => failure,
                Outcome::Success => Failure::transient(),
            };
            return Err(StreamError {
                failure,
                message: crate::sanitise::bounded(payload["message"].as_str().unwrap_or(kind)),
            }
            .into());
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: String::new(),
                model: String::new(),
            });
        }
        let block = payload["contentBlockIndex"].as_u64().unwrap_or_default();
        match kind.as_str() {
            "contentBlockStart" => {
                if let Some(call) = payload["start"].get("toolUse") {
                    let index = self.tools.len();
                    self.tools.insert(block, index);
                    out.push(StreamEvent::ToolCallStart {
                        index,
                        id: call["toolUseId"].as_str().unwrap_or_default().to_owned(),
                        name: call["name"].as_str().unwrap_or_default().to_owned(),
                    });
                }
            }
            "contentBlockDelta" => {
                let delta = &payload["delta"];
                if let Some(text) = delta["text"].as_str().filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::Text(text.to_owned()));
                } else if let (Some(fragment), Some(&index)) =
                    (delta["toolUse"]["input"].as_str(), self.tools.get(&block))
                {
                    out.push(StreamEvent::ToolCallArguments {
                        index,
                        fragment: fragment.to_owned(),
                    });
                }
            }
            "messageStop" => {
                let reason = payload["stopReason"].as_str().unwrap_or("end_turn");
                out.push(StreamEvent::Finish(parse_stop_reason(reason)));
            }
            "metadata" => {
                out.push(StreamEvent::Usage(usage_of(&payload["usage"])));
                out.push(StreamEvent::End);
            }
            _ => {}
        }
        Ok(())
    }
}

/// Writes ConverseStream frames (for clients that speak Converse).
#[derive(Debug, Default)]
pub struct Encoder {
    /// The open content block: its index and whether it is text.
    open: Option<(usize, bool)>,
    blocks: usize,
    tools: HashMap<usize, usize>,
    finish: Option<FinishReason>,
    usage: crate::Usage,
}

impl Encoder {
    fn close(&mut self, out: &mut Vec<Bytes>) {
        if let Some((index, _)) = self.open.take() {
            out.push(event_frame(
                "contentBlockStop",
                &json!({"contentBlockIndex": index}),
            ));
        }
    }

    fn open(&mut self, start: Option<Value>, text: bool, out: &mut Vec<Bytes>) -> usize {
        self.close(out);
        let index = self.blocks;
        self.blocks += 1;
        self.open = Some((index, text));
        if let Some(start) = start {
            out.push(event_frame(
                "contentBlockStart",
                &json!({"contentBlockIndex": index, "start": start}),
            ));
        }
        index
    }
}

impl Encode for Encoder {
    fn encode(&mut self, item: &StreamEvent, out: &mut Vec<Bytes>) {
        match item {
            StreamEvent::Start { .. } => {
                out.push(event_frame("messageStart", &json!({"role": "assistant"})))
            }
            StreamEvent::Text(text) => {
                let index = match self.open {
                    Some((index, true)) => index,
                    _ => self.open(None, true, out),
                };
                out.push(event_frame(
                    "contentBlockDelta",
                    &json!({"contentBlockIndex": index, "delta": {"text": text}}),
                ));
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                let block = self.open(
                    Some(json!({"toolUse": {"toolUseId": id, "name": name}})),
                    false,
                    out,
                );
                self.tools.insert(*index, block);
            }
            StreamEvent::ToolCallArguments { index, fragment } => {
                if let Some(&block) = self.tools.get(index) {
                    out.push(event_frame("contentBlockDelta", &json!({"contentBlockIndex": block, "delta": {"toolUse": {"input": fragment}}})));
                }
            }
            StreamEvent::Finish(reason) => self.finish = Some(*reason),
            StreamEvent::Usage(usage) => self.usage = *usage,
            StreamEvent::End => {
                self.close(out);
                let reason = stop_reason(self.finish.unwrap_or(FinishReason::Stop));
                out.push(event_frame("messageStop", &json!({"stopReason": reason})));
                let usage = json!({"inputTokens": self.usage.input, "outputTokens": self.usage.output, "totalTokens": self.usage.total()});
                out.push(event_frame(
                    "metadata",
                    &json!({"usage": usage, "metrics": {"latencyMs": 0}}),
                ));
            }
        }
    }

    fn error(&mut self, message: &str) -> Bytes {
        exception_frame("internalServerException", message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Usage;
    use crate::bedrock::frame::FrameSplitter;

    /// A canonical answer with text and a tool call, framed by the encoder,
    /// split into events and read back by the decoder.
    #[test]
    fn framed_events_decode_to_the_same_answer() {
        let events = vec![
            StreamEvent::Start {
                id: String::new(),
                model: String::new(),
            },
            StreamEvent::Text("Checking".into()),
            StreamEvent::ToolCallStart {
                index: 0,
                id: "tooluse_1".into(),
                name: "get_weather".into(),
            },
            StreamEvent::ToolCallArguments {
                index: 0,
                fragment: "{\"city\":\"Paris\"}".into(),
            },
            StreamEvent::Finish(FinishReason::ToolCalls),
            StreamEvent::Usage(Usage {
                input: 11,
                output: 6,
            }),
            StreamEvent::End,
        ];
        let mut encoder = Encoder::default();
        let mut frames = Vec::new();
        for event in &events {
            encoder.encode(event, &mut frames);
        }
        let mut splitter = FrameSplitter::default();
        for frame in &frames {
            splitter.push(frame);
        }
        let mut decoder = Decoder::default();
        let mut back = Vec::new();
        while let Some(event) = splitter.next_event().unwrap() {
            let data = crate::sse::event_data(&event).unwrap();
            decoder.decode(&data, &mut back).unwrap();
        }
        assert_eq!(back, events);
    }

    #[test]
    fn exceptions_are_failures_of_their_kind() {
        let kind = |data: &str| {
            Decoder::default()
                .decode(data, &mut Vec::new())
                .map_err(crate::stream::reported)
                .unwrap_err()
                .failure
                .kind
        };
        use steadfast::FailureKind;
        assert_eq!(
            kind(r#"{"throttlingException":{"message":"Too many requests"}}"#),
            FailureKind::RateLimited
        );
        assert_eq!(
            kind(r#"{"serviceUnavailableException":{"message":"busy"}}"#),
            FailureKind::Overloaded
        );
        assert_eq!(
            kind(r#"{"validationException":{"message":"Input is too long for requested model."}}"#),
            FailureKind::ContextLength
        );
    }
}
