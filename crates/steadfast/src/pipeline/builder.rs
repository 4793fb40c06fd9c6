//! The builder of a [`Pipeline`]: one optional setter per stage.

use std::sync::Arc;
use std::time::Duration;

use super::{Pipeline, Stages};
use crate::breaker::Breaker;
use crate::bulkhead::Bulkhead;
use crate::events::Events;
use crate::fault::FaultPolicy;
use crate::rate_limit::RateLimit;
use crate::retry::RetryPolicy;

/// Builds a [`Pipeline`]; start with [`Pipeline::builder`]. Every stage is
/// optional; a pipeline with none just runs the call.
///
/// The policies passed in keep their own names and event buses. The name and
/// bus set here are those of the stages the pipeline makes itself: the
/// per-attempt [`timeout`](Self::timeout) and the overall
/// [`deadline`](Self::deadline).
#[derive(Debug, Clone)]
#[must_use = "call build() to make the pipeline"]
pub struct PipelineBuilder {
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

impl PipelineBuilder {
    pub(crate) fn new() -> PipelineBuilder {
        PipelineBuilder {
            name: Arc::from("pipeline"),
            events: Events::none(),
            deadline: None,
            retry: None,
            breaker: None,
            rate_limit: None,
            bulkhead: None,
            timeout: None,
            fault: None,
        }
    }

    /// Names the pipeline's own timeout and deadline in events and metrics
    /// (default `"pipeline"`).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> PipelineBuilder {
        self.name = name.into();
        self
    }

    /// Publishes the pipeline's own timeout and deadline events into `events`.
    pub fn events(mut self, events: Events) -> PipelineBuilder {
        self.events = events;
        self
    }

    /// Bounds the whole operation, retries and their waits included.
    pub fn deadline(mut self, limit: Duration) -> PipelineBuilder {
        self.deadline = Some(limit);
        self
    }

    /// Retries failed attempts; give the policy a [`Budget`](crate::budget::Budget)
    /// to cap retries.
    pub fn retry(mut self, retry: RetryPolicy) -> PipelineBuilder {
        self.retry = Some(retry);
        self
    }

    /// Guards every attempt with a circuit breaker.
    pub fn breaker(mut self, breaker: Breaker) -> PipelineBuilder {
        self.breaker = Some(breaker);
        self
    }

    /// Takes one request (of one unit) from `rate_limit` per attempt.
    pub fn rate_limit(mut self, rate_limit: RateLimit) -> PipelineBuilder {
        self.rate_limit = Some(rate_limit);
        self
    }

    /// Holds a bulkhead slot for the length of every attempt.
    pub fn bulkhead(mut self, bulkhead: Bulkhead) -> PipelineBuilder {
        self.bulkhead = Some(bulkhead);
        self
    }

    /// Bounds every attempt to `after`.
    pub fn timeout(mut self, after: Duration) -> PipelineBuilder {
        self.timeout = Some(after);
        self
    }

    /// Injects faults into every attempt, as if the target had failed.
    pub fn fault(mut self, fault: FaultPolicy) -> PipelineBuilder {
        self.fault = Some(fault);
        self
    }

    /// The pipeline.
    pub fn build(self) -> Pipeline {
        Pipeline {
            stages: Arc::new(Stages {
                name: self.name,
                events: self.events,
                deadline: self.deadline,
                retry: self.retry,
                breaker: self.breaker,
                rate_limit: self.rate_limit,
                bulkhead: self.bulkhead,
                timeout: self.timeout,
                fault: self.fault,
            }),
        }
    }
}
