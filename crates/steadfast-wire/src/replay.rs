//! Answers the gateway has at hand rather than from a model — a cached
//! answer, a route's static last answer — kept in the canonical form, stored
//! as compact JSON, and written for a client in its format, whole or as a
//! stream. An [`Assembler`] builds one from a streamed answer as it passes.

use bytes::Bytes;

use crate::WireError;
use crate::format::Format;
use crate::model::{ChatResponse, FinishReason, StreamEvent, ToolCall, Usage};

/// `response` as compact JSON, to be stored.
pub fn to_json(response: &ChatResponse) -> Vec<u8> {
    serde_json::to_vec(response).unwrap_or_default()
}

/// An answer stored by [`to_json`].
pub fn from_json(bytes: &[u8]) -> Result<ChatResponse, WireError> {
    serde_json::from_slice(bytes)
        .map_err(|error| WireError::new(format!("a stored answer cannot be read: {error}")))
}

/// `response` as a whole answer in the client's `format`.
pub fn whole(format: Format, response: &ChatResponse) -> Bytes {
    Bytes::from(format.codec().write_response(response).to_string())
}

/// `response` as the events of a stream in the client's `format` (with
/// usage when an OpenAI client asked for it), ending as the format ends a
/// stream.
pub fn stream(format: Format, response: &ChatResponse, include_usage: bool) -> Vec<Bytes> {
    let mut encoder = format.codec().encoder(include_usage);
    let mut out = Vec::new();
    for event in events(response) {
        encoder.encode(&event, &mut out);
    }
    out
}

/// The stream events that carry `response`.
fn events(response: &ChatResponse) -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::Start {
        id: response.id.clone(),
        model: response.model.clone(),
    }];
    if !response.text.is_empty() {
        events.push(StreamEvent::Text(response.text.clone()));
    }
    for (index, call) in response.tool_calls.iter().enumerate() {
        events.extend(StreamEvent::whole_tool_call(index, call));
    }
    events.extend([
        StreamEvent::Finish(response.finish),
        StreamEvent::Usage(response.usage),
        StreamEvent::End,
    ]);
    events
}

/// Most tool calls in one answer an assembler takes (a provider's call
/// index beyond it is no answer worth keeping).
const MAX_TOOL_CALLS: usize = 128;

/// Builds a whole answer from a stream's events, within a size bound.
#[derive(Debug)]
pub struct Assembler {
    answer: ChatResponse,
    bytes: usize,
    limit: usize,
    over: bool,
    ended: bool,
    /// Whether the stream reported its usage (an answer kept without it
    /// would tell later clients it cost nothing).
    counted: bool,
}

impl Assembler {
    /// An assembler that gives up once the answer passes `limit` bytes.
    pub fn new(limit: usize) -> Assembler {
        Assembler {
            answer: ChatResponse {
                id: String::new(),
                model: String::new(),
                text: String::new(),
                tool_calls: Vec::new(),
                finish: FinishReason::Stop,
                usage: Usage::default(),
            },
            bytes: 0,
            limit,
            over: false,
            ended: false,
            counted: false,
        }
    }

    /// Takes the next event of the stream.
    pub fn push(&mut self, event: &StreamEvent) {
        if self.over {
            return;
        }
        let answer = &mut self.answer;
        let grown = match event {
            StreamEvent::Start { id, model } => {
                answer.id.clone_from(id);
                answer.model.clone_from(model);
                id.len() + model.len()
            }
            StreamEvent::Text(text) => {
                answer.text.push_str(text);
                text.len()
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                // Calls come in order: a new one is the next index, a known
                // one is named again. Anything else is given up.
                if *index == answer.tool_calls.len() && *index < MAX_TOOL_CALLS {
                    answer.tool_calls.push(ToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                }
                let Some(call) = answer.tool_calls.get_mut(*index) else {
                    self.give_up();
                    return;
                };
                call.id.clone_from(id);
                call.name.clone_from(name);
                id.len() + name.len()
            }
            StreamEvent::ToolCallArguments { index, fragment } => {
                if let Some(call) = answer.tool_calls.get_mut(*index) {
                    call.arguments.push_str(fragment);
                }
                fragment.len()
            }
            StreamEvent::Finish(reason) => {
                answer.finish = *reason;
                0
            }
            StreamEvent::Usage(usage) => {
                answer.usage = *usage;
                self.counted = true;
                0
            }
            StreamEvent::End => {
                self.ended = true;
                0
            }
        };
        self.bytes += grown;
        if self.bytes > self.limit {
            self.give_up();
        }
    }

    /// Stops putting the answer together and lets what it held go.
    fn give_up(&mut self) {
        self.over = true;
        self.answer.text = String::new();
        self.answer.tool_calls = Vec::new();
    }

    /// The whole answer, if the stream ended, reported its usage, and stayed
    /// within the bound.
    pub fn finish(self) -> Option<ChatResponse> {
        (self.ended && self.counted && !self.over).then_some(self.answer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn answer() -> ChatResponse {
        ChatResponse {
            id: "chatcmpl-1".into(),
            model: "gpt-4o".into(),
            text: "Paris is the capital.".into(),
            tool_calls: vec![ToolCall {
                id: "call_1".into(),
                name: "lookup".into(),
                arguments: "{\"city\":\"Paris\"}".into(),
            }],
            finish: FinishReason::ToolCalls,
            usage: Usage {
                input: 12,
                output: 7,
            },
        }
    }

    #[test]
    fn a_stored_answer_reads_back_the_same() {
        let stored = to_json(&answer());
        assert_eq!(from_json(&stored).unwrap(), answer());
        assert!(from_json(b"{\"id\":1}").is_err());
        assert!(from_json(b"not json").is_err());
    }

    #[test]
    fn an_answer_streamed_and_assembled_is_the_same_answer() {
        for format in [Format::Openai, Format::Anthropic, Format::Responses] {
            let events = stream(format, &answer(), true);
            let mut decoder = format.codec().decoder();
            let mut assembler = Assembler::new(1 << 20);
            for event in &events {
                let Some(data) = crate::sse::event_data(event) else {
                    continue;
                };
                let mut decoded = Vec::new();
                decoder.decode(&data, &mut decoded).unwrap();
                for item in &decoded {
                    assembler.push(item);
                }
            }
            let assembled = assembler.finish().unwrap_or_else(|| panic!("{format:?}"));
            assert_eq!(assembled.text, answer().text, "{format:?}");
            assert_eq!(assembled.tool_calls, answer().tool_calls, "{format:?}");
            assert_eq!(assembled.finish, FinishReason::ToolCalls, "{format:?}");
            let whole: Value = serde_json::from_slice(&whole(format, &answer())).unwrap();
            let read = format.codec().parse_response(&whole).unwrap();
            assert_eq!(read.text, answer().text, "{format:?}");
        }
    }

    #[test]
    fn an_assembler_gives_up_on_calls_out_of_order_or_without_usage() {
        let mut hostile = Assembler::new(1 << 20);
        for index in [0, usize::MAX, 1 << 33] {
            hostile.push(&StreamEvent::ToolCallStart {
                index,
                id: "c".into(),
                name: "f".into(),
            });
        }
        hostile.push(&StreamEvent::Usage(Usage::default()));
        hostile.push(&StreamEvent::End);
        assert!(hostile.finish().is_none());
        let mut uncounted = Assembler::new(1 << 20);
        uncounted.push(&StreamEvent::Text("hi".into()));
        uncounted.push(&StreamEvent::End);
        assert!(uncounted.finish().is_none(), "kept without its usage");
    }

    #[test]
    fn an_assembler_gives_up_past_its_bound_or_without_an_end() {
        let mut over = Assembler::new(10);
        over.push(&StreamEvent::Text("a long piece of text".into()));
        over.push(&StreamEvent::End);
        assert!(over.finish().is_none());
        let mut cut = Assembler::new(100);
        cut.push(&StreamEvent::Text("half".into()));
        assert!(cut.finish().is_none());
    }
}
