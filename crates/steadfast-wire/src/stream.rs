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
    /// The upstream's message, sanitised.
    pub message: String,
}

/// Reads one upstream stream format.
pub trait Decode: Send {
    /// Decodes the data of one upstream event into `out`; an error event
    /// becomes an `Err`. Data it does not know is skipped.
    fn decode(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), StreamError>;
}

/// Writes one client stream format.
pub trait Encode: Send {
    /// Encodes one canonical event as zero or more client events.
    fn encode(&mut self, event: &StreamEvent, out: &mut Vec<Bytes>);

    /// The client event that ends a broken stream.
    fn error(&mut self, message: &str) -> Bytes;
}
