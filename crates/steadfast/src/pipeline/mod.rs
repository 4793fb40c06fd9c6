//! Pipeline: the policies for one target composed in the one right order.
//!
//! ```text
//! deadline > retry (with budget) > breaker > rate limit > bulkhead > timeout > fault > call
//! ```
//!
//! Every stage is optional and costs nothing when absent: no allocation, no
//! clock read, no await point. The order, outermost first, and why:
//!
//! - **Deadline outermost.** It bounds what the caller waits for: every
//!   attempt, every backoff and retry-after wait. When it passes, the call in
//!   flight is dropped (its breaker permit counts as cancelled, not failed: the
//!   caller gave up, the target did not fail) and the result is
//!   [`Error::Timeout`] of scope [`TimeoutScope::Overall`](crate::timeout::TimeoutScope::Overall).
//! - **Retry outside the breaker.** A retry asks the breaker again, so an open
//!   breaker's refusal ([`Error::BreakerOpen`], kind `Overloaded`) reaches the
//!   retry policy with the breaker's remaining open time as its retry-after,
//!   and the retry waits until a probe may pass instead of hammering a
//!   refusing breaker. Retries take from the policy's own
//!   [`Budget`](crate::budget::Budget), if it has one.
//! - **Breaker outside the rate limit and the bulkhead.** Their refusals are
//!   local ([`Error::is_local_rejection`]): they say nothing about the
//!   target, and the breaker records them as ignored. An open breaker refuses
//!   before either is consulted, so a call to a target known to be down takes
//!   no rate-limit quota and no bulkhead slot.
//! - **Rate limit outside the bulkhead.** The rate check is instant; a call
//!   without quota is refused before it can wait in the bulkhead's queue.
//! - **Bulkhead outside the timeout.** The slot is held for the whole attempt;
//!   time spent waiting in the bulkhead's queue is bounded by the bulkhead's
//!   own `queue_timeout`, not charged to the target's per-attempt timeout.
//! - **Timeout inside the breaker.** A timed-out attempt is an
//!   [`Error::Timeout`] of kind `Timeout`, which the breaker counts as a
//!   failure, and the retry policy sees and may retry.
//! - **Fault injection innermost.** An injected failure, latency or hang looks
//!   to every other stage exactly like the target's own: the timeout cuts
//!   injected hangs, the breaker counts injected errors, the retry retries them.
//!
//! A classifier ([`Pipeline::call_classified`]) judges each attempt once; the
//! breaker records and the retry policy acts on that one verdict.
//!
//! The policies given to the builder keep their own names and event buses, and
//! may be shared with other pipelines (a [`Breaker`] from a
//! [`Registry`](crate::registry::Registry), a [`RateLimit`] shared by routes).
//!
//! ```
//! use std::time::Duration;
//! use steadfast::breaker::Breaker;
//! use steadfast::bulkhead::Bulkhead;
//! use steadfast::pipeline::Pipeline;
//! use steadfast::retry::{Backoff, RetryPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let pipeline = Pipeline::builder()
//!     .name("gpt")
//!     .deadline(Duration::from_secs(60))
//!     .retry(RetryPolicy::builder().backoff(Backoff::constant(Duration::from_millis(1))).build())
//!     .breaker(Breaker::builder("gpt").build())
//!     .bulkhead(Bulkhead::builder(16).build())
//!     .timeout(Duration::from_secs(20))
//!     .build();
//! let mut attempts = 0;
//! let answer = pipeline
//!     .call(|| {
//!         attempts += 1;
//!         let attempt = attempts;
//!         async move { if attempt == 1 { Err("connection reset") } else { Ok("hello") } }
//!     })
//!     .await;
//! assert_eq!(answer.ok(), Some("hello"));
//! assert_eq!(attempts, 2);
//! # }
//! ```

mod attempt;
mod builder;
mod layer;
mod lease;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use self::builder::PipelineBuilder;
pub use self::layer::{PipelineLayer, PipelineService, ResponseFuture};
pub use self::lease::Lease;
use crate::breaker::Breaker;
use crate::bulkhead::Bulkhead;
use crate::classify::{AsFailure, ByFailure, Classify};
use crate::events::Events;
use crate::fault::FaultPolicy;
use crate::rate_limit::RateLimit;
use crate::retry::RetryPolicy;
use crate::{BoxError, Error};

/// The resilience policies of one target, applied in the order given in the
/// [module docs](self). Cheap to clone: clones share every stage.
#[derive(Debug, Clone)]
pub struct Pipeline {
    stages: Arc<Stages>,
}

/// The configured stages, outermost first.
#[derive(Debug)]
struct Stages {
    name: Arc<str>,
    events: Events,
    deadline: Option<Duration>,
    retry: Option<RetryPolicy>,
    breaker: Option<Breaker>,
    rate_limit: Option<RateLimit>,
    bulkhead: Option<Bulkhead>,
    timeout: Option<Duration>,
    fault: Option<FaultPolicy>,
}

impl Pipeline {
    /// A builder with no stage yet.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::new()
    }

    /// Admits one call whose outcome is known only later — a streamed
    /// answer, judged when its last event arrives — through the breaker, the
    /// rate limit (`units` of its unit quota, one of its request quota) and
    /// the bulkhead (waiting in its queue), in the pipeline's order. Report
    /// the outcome on the [`Lease`]. The stages that wrap a call (deadline,
    /// retry, timeout, fault injection) are the caller's in this form.
    ///
    /// ```
    /// use steadfast::breaker::Breaker;
    /// use steadfast::bulkhead::Bulkhead;
    /// use steadfast::pipeline::Pipeline;
    /// use steadfast::{Failure, FailureKind};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let pipeline = Pipeline::builder()
    ///     .breaker(Breaker::builder("gpt").build())
    ///     .bulkhead(Bulkhead::builder(1).build())
    ///     .build();
    /// let lease = pipeline.admit(1).await.unwrap();
    /// // ... the stream is relayed; it breaks before its end:
    /// lease.fail(Failure::new(FailureKind::Transient));
    /// let lease = pipeline.admit(1).await.unwrap();
    /// lease.succeed();
    /// assert_eq!(pipeline.breaker().unwrap().stats().failures, 1);
    /// # }
    /// ```
    pub async fn admit(&self, units: u64) -> Result<Lease, Error> {
        self.stages.admit(units).await
    }

    /// Runs `op` through every stage, once per attempt. Errors are judged by
    /// their own [`AsFailure`] answer (ours keep their kind).
    pub async fn call<T, E, F, Fut>(&self, mut op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        self.call_classified(&ByFailure, move || {
            let attempt = op();
            async move { attempt.await.map_err(Error::judged) }
        })
        .await
    }

    /// As [`call`](Self::call), with `classifier` judging each attempt. Its
    /// verdict on an error becomes that error's [`Error::failure`]; an `Ok`
    /// judged a failure is counted by the breaker, retried, and returned as
    /// `Ok` if retries run out.
    pub async fn call_classified<T, E, C, F, Fut>(&self, classifier: &C, op: F) -> Result<T, Error>
    where
        C: Classify<T, E>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        self.stages.run(classifier, op).await
    }

    /// The pipeline's name.
    pub fn name(&self) -> &Arc<str> {
        &self.stages.name
    }

    /// The overall deadline, if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.stages.deadline
    }

    /// The retry policy, if any (for its stats).
    pub fn retry(&self) -> Option<&RetryPolicy> {
        self.stages.retry.as_ref()
    }

    /// The circuit breaker, if any.
    pub fn breaker(&self) -> Option<&Breaker> {
        self.stages.breaker.as_ref()
    }

    /// The rate limit, if any.
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        self.stages.rate_limit.as_ref()
    }

    /// The bulkhead, if any.
    pub fn bulkhead(&self) -> Option<&Bulkhead> {
        self.stages.bulkhead.as_ref()
    }

    /// The per-attempt timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.stages.timeout
    }

    /// The fault injector, if any.
    pub fn fault(&self) -> Option<&FaultPolicy> {
        self.stages.fault.as_ref()
    }
}
