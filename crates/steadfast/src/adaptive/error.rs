//! The refusal of an adaptive concurrency limit.

use std::sync::Arc;

/// An adaptive concurrency limit refused the call: its learned limit was in
/// flight and waiting did not help (no room in the queue, or waited too long).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("concurrency limit {name:?} reached ({limit} calls in flight)")]
pub struct LimitReached {
    /// The limit's name.
    pub name: Arc<str>,
    /// The limit learned when the call was refused.
    pub limit: usize,
}
