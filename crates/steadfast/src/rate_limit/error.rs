//! The refusal of a local rate limiter.

use std::sync::Arc;
use std::time::Duration;

use crate::failure::retry_after_hint;

/// A local rate limiter refused the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limit {name:?} exceeded{}", retry_after_hint(Some(*.retry_after)))]
pub struct RateLimitExceeded {
    /// The limiter's name.
    pub name: Arc<str>,
    /// How long until the request would be allowed.
    pub retry_after: Duration,
}
