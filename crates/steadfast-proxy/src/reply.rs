//! What a served request gets back: its answer, whole or streamed, and
//! where it came from.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A model.
    Upstream,
    /// The route's cache, without a call.
    CacheHit,
    /// The route's cache, after every target failed.
    Stale,
    /// The route's static last answer, after every target failed.
    Static,
}

/// A served request.
pub struct Reply {
    /// The answer, in the client's format.
    pub answer: Answer,
    /// The targets that served it (several for a quorum).
    pub targets: Vec<Arc<str>>,
    /// The upstream calls it took (until the first token for a stream).
    pub attempts: usize,
    /// Where the answer came from.
    pub source: Source,
    /// The client's request fields the serving target's format could not
    /// carry (the request was translated without them).
    pub dropped: Vec<String>,
}

/// An answer for the client.
pub enum Answer {
    /// A whole JSON answer.
    Whole(Bytes),
    /// Server-sent events, relayed as they come; the request is counted when
    /// the stream ends.
    Stream(BoxStream<'static, Result<Bytes, std::io::Error>>),
}
