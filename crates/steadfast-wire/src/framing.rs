//! How a format frames its stream: server-sent events for most, AWS's
//! binary event-stream for Bedrock. Either way the relay gets whole events
//! as server-sent events.

use bytes::Bytes;

use crate::Format;
use crate::bedrock::frame::FrameSplitter;
use crate::sse::EventSplitter;

/// Splits a format's stream into events.
#[derive(Debug)]
pub enum Framing {
    /// Server-sent events.
    Sse(EventSplitter),
    /// AWS event-stream frames, each handed out as one server-sent event.
    EventStream(FrameSplitter),
}

impl Framing {
    /// The framing of `format`'s streams.
    pub fn of(format: Format) -> Framing {
        match format {
            Format::Bedrock => Framing::EventStream(FrameSplitter::default()),
            Format::Openai
            | Format::Anthropic
            | Format::AnthropicVertex
            | Format::Gemini
            | Format::Responses => Framing::Sse(EventSplitter::default()),
        }
    }

    /// Adds bytes received from the upstream.
    pub fn push(&mut self, chunk: &[u8]) {
        match self {
            Framing::Sse(splitter) => splitter.push(chunk),
            Framing::EventStream(splitter) => splitter.push(chunk),
        }
    }

    /// The next whole event, if one has arrived; an error for bytes that
    /// cannot be framed.
    pub fn next_event(&mut self) -> Result<Option<Bytes>, String> {
        match self {
            Framing::Sse(splitter) => Ok(splitter.next_event()),
            Framing::EventStream(splitter) => splitter.next_event(),
        }
    }
}
