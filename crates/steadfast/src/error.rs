//! The old paths of the error types, kept for one release as deprecated
//! aliases: [`Error`](crate::Error) and [`BoxError`](crate::BoxError) are at
//! the crate root, and each policy's rejection is in its policy's module.

/// The old path of [`crate::Error`].
#[deprecated(since = "0.2.0", note = "use steadfast::Error")]
pub type Error = crate::Error;

/// The old path of [`crate::BoxError`].
#[deprecated(since = "0.2.0", note = "use steadfast::BoxError")]
pub type BoxError = crate::BoxError;

/// The old path of [`crate::breaker::BreakerOpen`].
#[deprecated(since = "0.2.0", note = "use steadfast::breaker::BreakerOpen")]
pub type BreakerOpen = crate::breaker::BreakerOpen;

/// The old path of [`crate::bulkhead::BulkheadFull`].
#[deprecated(since = "0.2.0", note = "use steadfast::bulkhead::BulkheadFull")]
pub type BulkheadFull = crate::bulkhead::BulkheadFull;

/// The old path of [`crate::bulkhead::BulkheadRejection`].
#[deprecated(since = "0.2.0", note = "use steadfast::bulkhead::BulkheadRejection")]
pub type BulkheadRejection = crate::bulkhead::BulkheadRejection;

/// The old path of [`crate::rate_limit::RateLimitExceeded`].
#[deprecated(since = "0.2.0", note = "use steadfast::rate_limit::RateLimitExceeded")]
pub type RateLimitExceeded = crate::rate_limit::RateLimitExceeded;

/// The old path of [`crate::timeout::Elapsed`].
#[deprecated(since = "0.2.0", note = "use steadfast::timeout::Elapsed")]
pub type Elapsed = crate::timeout::Elapsed;

/// The old path of [`crate::timeout::TimeoutScope`].
#[deprecated(since = "0.2.0", note = "use steadfast::timeout::TimeoutScope")]
pub type TimeoutScope = crate::timeout::TimeoutScope;

/// The old path of [`crate::fault::InjectedFault`].
#[deprecated(since = "0.2.0", note = "use steadfast::fault::InjectedFault")]
pub type InjectedFault = crate::fault::InjectedFault;
