//! The refusal of an open circuit breaker.

use std::sync::Arc;
use std::time::Duration;

use crate::failure::retry_after_hint;

/// A circuit breaker is open (or forced open) and refused the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker {name:?} is open{}", retry_after_hint(*.retry_after))]
pub struct BreakerOpen {
    /// The breaker's name.
    pub name: Arc<str>,
    /// When the breaker will let a probe through, if known (not when forced open).
    pub retry_after: Option<Duration>,
}
