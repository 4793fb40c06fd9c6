//! How a format frames its stream: server-sent events for most, AWS's
//! binary event-stream for Bedrock. Either way the relay gets whole events
//! as server-sent events, none larger than [`MAX_EVENT_BYTES`].

use bytes::Bytes;

use crate::Format;
use crate::bedrock::frame::FrameSplitter;
use crate::codec::FramingKind;
use crate::sse::EventSplitter;

/// The largest stream event taken from a provider (a whole tool call's
/// arguments in one Gemini event stays far below it).
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

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
        match format.codec().framing() {
            FramingKind::Sse => Framing::Sse(EventSplitter::default()),
            FramingKind::EventStream => Framing::EventStream(FrameSplitter::default()),
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
    /// cannot be framed, or for an unfinished event already larger than
    /// [`MAX_EVENT_BYTES`] (a provider streaming bytes without end must not
    /// grow the gateway's memory without end).
    pub fn next_event(&mut self) -> Result<Option<Bytes>, String> {
        let (event, pending) = match self {
            Framing::Sse(splitter) => (splitter.next_event(), splitter.remainder().len()),
            Framing::EventStream(splitter) => (splitter.next_event()?, splitter.pending()),
        };
        if event.is_none() && pending > MAX_EVENT_BYTES {
            return Err(format!(
                "sent an event larger than {MAX_EVENT_BYTES} bytes without its end"
            ));
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_without_end_is_refused_once_over_the_bound() {
        for format in [Format::Openai, Format::Bedrock] {
            let mut framing = Framing::of(format);
            let chunk = vec![b'a'; 64 * 1024];
            let mut refused = None;
            for pushed in 1..=32 {
                framing.push(&chunk);
                if let Err(error) = framing.next_event() {
                    refused = Some((pushed, error));
                    break;
                }
            }
            let (pushed, error) = refused.unwrap_or_else(|| panic!("{format:?}: never refused"));
            assert_eq!(
                pushed * chunk.len(),
                MAX_EVENT_BYTES + chunk.len(),
                "{format:?}"
            );
            assert!(error.contains("larger than"), "{error}");
        }
    }
}
