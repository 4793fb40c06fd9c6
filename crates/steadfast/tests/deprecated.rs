//! The 0.1 names kept for one release as deprecated aliases still compile and
//! are the very types of their new names. Delete this file with the aliases.
#![allow(deprecated)]

use std::any::TypeId;
use std::time::Duration;

use steadfast::breaker::{Breaker, BreakerConfig, BreakerLayer, BreakerOpen, BreakerService};
use steadfast::bulkhead::{BulkheadFull, BulkheadRejection};
use steadfast::fault::{FaultInjector, FaultService, InjectedFault, InjectedKind};
use steadfast::hedge::{HedgeDelay, HedgePolicy, HedgeService};
use steadfast::pipeline::Pipeline;
use steadfast::rate_limit::RateLimitExceeded;
use steadfast::retry::{RetryPolicy, RetryService};
use steadfast::timeout::{Elapsed, TimeoutScope};
use steadfast::{BoxError, Error, Failure, FailureKind, Outcome};
use tower::Layer;

fn same<Old: 'static, New: 'static>() -> bool {
    TypeId::of::<Old>() == TypeId::of::<New>()
}

#[test]
fn renamed_services_and_layers_are_the_new_types() {
    let breaker = Breaker::builder("gpt").build();
    let service: steadfast::breaker::CircuitBreaker<()> = BreakerService::new((), breaker.clone());
    let _: BreakerService<()> = service;
    let layer: steadfast::breaker::CircuitBreakerLayer =
        steadfast::breaker::CircuitBreakerLayer::new(breaker.clone());
    let _: BreakerLayer = layer;
    let _: steadfast::fault::Fault<()> = FaultService::new((), FaultInjector::off());
    let retry = RetryPolicy::builder().build();
    let _: steadfast::retry::Retry<()> = RetryService::new((), retry.clone());
    let _: steadfast::hedge::Hedge<()> = HedgeService::new((), HedgePolicy::builder().build());

    assert!(same::<
        steadfast::breaker::CircuitBreaker<()>,
        BreakerService<()>,
    >());
    assert!(same::<steadfast::breaker::CircuitBreakerLayer, BreakerLayer>());
    assert!(same::<steadfast::fault::Fault<()>, FaultService<()>>());
    assert!(same::<steadfast::retry::Retry<()>, RetryService<()>>());
    assert!(same::<steadfast::hedge::Hedge<()>, HedgeService<()>>());
    // The old layer still makes the new service.
    let _: BreakerService<()> = steadfast::breaker::CircuitBreakerLayer::new(breaker).layer(());
}

#[test]
fn old_root_paths_are_the_module_types() {
    let breaker: steadfast::Breaker = steadfast::Breaker::builder("gpt").build();
    let _: Breaker = breaker;
    let config: steadfast::BreakerConfig = BreakerConfig::default();
    let _: BreakerConfig = config;
    let pipeline: steadfast::Pipeline = Pipeline::builder().build();
    let _: Pipeline = pipeline;

    assert!(same::<steadfast::Breaker, Breaker>());
    assert!(same::<steadfast::BreakerConfig, BreakerConfig>());
    assert!(same::<steadfast::Pipeline, Pipeline>());
}

#[test]
fn old_error_paths_are_the_policy_errors() {
    let open = BreakerOpen {
        name: "gpt".into(),
        retry_after: None,
    };
    let error: steadfast::error::Error = Error::from(open.clone());
    assert!(matches!(error, steadfast::error::Error::BreakerOpen(_)));
    let _: steadfast::error::BreakerOpen = open;
    let _: steadfast::error::BoxError = BoxError::from("boxed");
    let _: steadfast::error::BulkheadFull = BulkheadFull {
        name: "gpt".into(),
        max_concurrent: 1,
        reason: steadfast::error::BulkheadRejection::QueueFull,
    };
    let _: steadfast::error::RateLimitExceeded = RateLimitExceeded {
        name: "gpt".into(),
        retry_after: Duration::from_secs(1),
    };
    let _: steadfast::error::Elapsed = Elapsed {
        scope: steadfast::error::TimeoutScope::Attempt,
        after: Duration::from_secs(1),
    };
    let _: steadfast::error::InjectedFault = InjectedFault {
        failure: Failure::transient(),
    };

    assert!(same::<steadfast::error::Error, Error>());
    assert!(same::<steadfast::error::BoxError, BoxError>());
    assert!(same::<steadfast::error::BreakerOpen, BreakerOpen>());
    assert!(same::<steadfast::error::BulkheadFull, BulkheadFull>());
    assert!(same::<steadfast::error::BulkheadRejection, BulkheadRejection>());
    assert!(same::<steadfast::error::RateLimitExceeded, RateLimitExceeded>());
    assert!(same::<steadfast::error::Elapsed, Elapsed>());
    assert!(same::<steadfast::error::TimeoutScope, TimeoutScope>());
    assert!(same::<steadfast::error::InjectedFault, InjectedFault>());
}

#[test]
fn old_verdict_and_kind_paths_are_the_new_types() {
    let failure: steadfast::classify::Failure = Failure::new(FailureKind::Timeout);
    let kind: steadfast::classify::FailureKind = failure.kind;
    assert_eq!(kind, steadfast::classify::FailureKind::Timeout);
    let outcome: steadfast::classify::Outcome = Outcome::Failure(failure);
    assert!(matches!(outcome, steadfast::classify::Outcome::Failure(_)));
    let injected: steadfast::events::InjectedKind = InjectedKind::Latency;
    let _: InjectedKind = injected;
    let delay: steadfast::fallback::HedgeDelay = HedgeDelay::Fixed(Duration::from_millis(5));
    let _: HedgeDelay = delay;

    assert!(same::<steadfast::classify::Failure, Failure>());
    assert!(same::<steadfast::classify::FailureKind, FailureKind>());
    assert!(same::<steadfast::classify::Outcome, Outcome>());
    assert!(same::<steadfast::events::InjectedKind, InjectedKind>());
    assert!(same::<steadfast::fallback::HedgeDelay, HedgeDelay>());
}
