//! The refusal of a full bulkhead, and why it was refused.

use std::fmt;
use std::sync::Arc;

/// A bulkhead refused the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bulkhead {name:?} is full ({max_concurrent} calls in flight): {reason}")]
pub struct BulkheadFull {
    /// The bulkhead's name.
    pub name: Arc<str>,
    /// Its limit of concurrent calls.
    pub max_concurrent: usize,
    /// Why waiting did not help.
    pub reason: BulkheadRejection,
}

/// Why a bulkhead refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkheadRejection {
    /// The wait queue was full (or there is none).
    QueueFull,
    /// The call waited in the queue longer than allowed.
    QueueTimeout,
}

impl fmt::Display for BulkheadRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BulkheadRejection::QueueFull => "the wait queue is full",
            BulkheadRejection::QueueTimeout => "timed out waiting in the queue",
        })
    }
}
