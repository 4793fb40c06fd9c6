//! The two halves of translating a streamed answer: a [`Decode`] reads the
//! upstream's server-sent events into canonical [`StreamEvent`]s, an
//! [`Encode`] writes them as the client's server-sent events.

use bytes::Bytes;
use steadfast::Failure;

use super::StreamEvent;

/// An error event in an upstream stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamError {
    /// What kind of failure it reports.
    pub failure: Failure,
    /// The upstream's message as it came (at most
    /// [`MAX_RAW_BYTES`](crate::sanitise::MAX_RAW_BYTES)): clean it — the
    /// configured secrets masked, then [`sanitise`](crate::sanitise::sanitise)d
    /// — before it is shown or logged.
    pub message: String,
}

/// Why an upstream event gave no canonical events.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeError {
    /// The event's data is not what the format says it is (not JSON, or not
    /// an object): it carries nothing that can be relayed.
    Malformed,
    /// The event reports an error.
    Reported(StreamError),
}

impl From<StreamError> for DecodeError {
    fn from(error: StreamError) -> DecodeError {
        DecodeError::Reported(error)
    }
}

/// Where a stream's text stands, as an encoder must know it to carry on a
/// stream that another encoder (or the upstream itself, passed through)
/// began: the message the client was told of and the content block its
/// text goes into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resumption {
    /// The id the client's stream began with.
    pub id: String,
    /// The model the client's stream began with.
    pub model: String,
    /// Content blocks the client has seen opened (Anthropic), so a new one
    /// takes the next index.
    pub blocks: usize,
    /// The content block of text still open, if any (Anthropic).
    pub open_text: Option<usize>,
}

/// Reads one upstream stream format.
pub trait Decode: Send {
    /// Decodes the data of one upstream event into `out`; an error event is
    /// [`DecodeError::Reported`], data that does not parse is
    /// [`DecodeError::Malformed`]. Well-formed data it does not know is skipped.
    fn decode(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), DecodeError>;

    /// The content blocks seen so far, where the format has any: how many
    /// were opened and which one holds text and is still open.
    fn blocks(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

/// Writes one client stream format.
pub trait Encode: Send {
    /// Encodes one canonical event as zero or more client events.
    fn encode(&mut self, event: &StreamEvent, out: &mut Vec<Bytes>);

    /// The client event that ends a broken stream.
    fn error(&mut self, message: &str) -> Bytes;

    /// The event that ends a stream passed through untouched whose answer
    /// is whole but whose upstream ended it without its own last event (an
    /// OpenAI stream without `data: [DONE]`, an Anthropic one without
    /// `message_stop`); `None` where the format has no such event.
    fn terminator(&self) -> Option<Bytes> {
        None
    }

    /// Takes over a stream the client has received up to `at` (from another
    /// encoder, or from the upstream passed through): what follows is
    /// written as the rest of that message.
    fn resume(&mut self, at: &Resumption) {
        let _ = at;
    }
}

/// The data of an event that must be a JSON object, or why it is not one.
pub(crate) fn json_object(data: &str) -> Result<serde_json::Value, DecodeError> {
    match serde_json::from_str::<serde_json::Value>(data) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value),
        _ => Err(DecodeError::Malformed),
    }
}

/// The error event a test expected a decoder to report.
#[cfg(test)]
#[allow(clippy::panic)]
pub(crate) fn reported(error: DecodeError) -> StreamError {
    match error {
        DecodeError::Reported(error) => error,
        DecodeError::Malformed => panic!("malformed, not an error event"),
    }
}
