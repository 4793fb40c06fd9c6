//! The error of a call or operation that ran out of time, and what timed out.

use std::fmt;
use std::time::Duration;

/// A call or an operation ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{scope} timed out after {after:?}")]
pub struct Elapsed {
    /// What timed out.
    pub scope: TimeoutScope,
    /// The limit that was exceeded.
    pub after: Duration,
}

/// What a timeout applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutScope {
    /// One attempt of a call.
    Attempt,
    /// The whole operation, retries included.
    Overall,
    /// The wait for the first item of a stream.
    FirstItem,
}

impl fmt::Display for TimeoutScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutScope::Attempt => "attempt",
            TimeoutScope::Overall => "operation",
            TimeoutScope::FirstItem => "first item",
        })
    }
}
