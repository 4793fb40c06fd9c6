//! Public behaviour of the pipeline: the order of its stages is observable.

// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use steadfast::breaker::{Breaker, State};
use steadfast::bulkhead::{Bulkhead, BulkheadRejection};
use steadfast::events::{Event, Events};
use steadfast::fault::{FaultConfig, FaultPolicy};
use steadfast::pipeline::{Lease, Pipeline};
use steadfast::rate_limit::{Quota, RateLimit};
use steadfast::retry::{Backoff, RetryPolicy};
use steadfast::timeout::TimeoutScope;
use steadfast::{Error, Failure, FailureKind, Outcome};
use tokio::time::{Instant, sleep};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

fn retry(attempts: u32, backoff: Duration) -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(attempts)
        .backoff(Backoff::constant(backoff))
        .build()
}

/// Counts the calls that reached the target.
#[derive(Clone, Default)]
struct Target(Arc<AtomicU32>);

impl Target {
    /// Records a call and returns its number, counting from 1.
    fn hit(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn calls(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

#[tokio::test(start_paused = true)]
async fn without_stages_the_call_just_runs() {
    let pipeline = Pipeline::builder().build();
    assert_eq!(
        pipeline.call(|| async { Ok::<_, Error>(7) }).await.ok(),
        Some(7)
    );
    let error = pipeline
        .call(|| async { Err::<(), _>("boom") })
        .await
        .unwrap_err();
    assert_eq!(error.failure(), Failure::transient());
    assert_eq!(error.to_string(), "call failed (transient)");
    // The call's own error is the source, printed once in a chain.
    let mut chain = vec![error.to_string()];
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    assert_eq!(chain, ["call failed (transient)", "boom"]);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_rejects_before_the_bulkhead_is_consulted() {
    let breaker = Breaker::builder("gpt").build();
    let bulkhead = Bulkhead::builder(1).build();
    let limit = RateLimit::builder().requests(Quota::per_second(1)).build();
    let pipeline = Pipeline::builder()
        .breaker(breaker.clone())
        .rate_limit(limit.clone())
        .bulkhead(bulkhead.clone())
        .build();
    breaker.trip();
    let target = Target::default();
    let error = pipeline
        .call(|| async { Ok::<_, Error>(target.hit()) })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::BreakerOpen(_)), "{error}");
    assert_eq!(target.calls(), 0);
    assert_eq!(bulkhead.stats().admitted, 0);
    assert_eq!(bulkhead.stats().rejected_full, 0);
    // The rate limit's single request is still there.
    assert_eq!(limit.requests().unwrap().available(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_bulkhead_rejection_is_not_counted_by_the_breaker() {
    let breaker = Breaker::builder("gpt").consecutive_failures(1).build();
    let bulkhead = Bulkhead::builder(1).build();
    let pipeline = Pipeline::builder()
        .breaker(breaker.clone())
        .bulkhead(bulkhead.clone())
        .build();
    let _held = bulkhead.try_acquire().unwrap();
    let target = Target::default();
    let error = pipeline
        .call(|| async { Ok::<_, Error>(target.hit()) })
        .await
        .unwrap_err();
    match error {
        Error::BulkheadFull(full) => assert_eq!(full.reason, BulkheadRejection::QueueFull),
        other => panic!("expected a full bulkhead, got {other}"),
    }
    assert_eq!(target.calls(), 0);
    let stats = breaker.stats();
    assert_eq!(stats.state, State::Closed);
    assert_eq!((stats.ignored, stats.failures), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_rejection_is_not_counted_by_the_breaker() {
    let breaker = Breaker::builder("gpt").consecutive_failures(1).build();
    let pipeline = Pipeline::builder()
        .breaker(breaker.clone())
        .rate_limit(RateLimit::builder().requests(Quota::per_second(1)).build())
        .build();
    assert!(pipeline.call(|| async { Ok::<_, Error>(()) }).await.is_ok());
    let error = pipeline
        .call(|| async { Ok::<_, Error>(()) })
        .await
        .unwrap_err();
    assert_eq!(error.failure().retry_after, Some(SEC));
    assert!(error.is_local_rejection());
    let stats = breaker.stats();
    assert_eq!(stats.state, State::Closed);
    assert_eq!((stats.successes, stats.ignored), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn retries_see_timeouts_and_the_breaker_counts_them() {
    let breaker = Breaker::builder("gpt").build();
    let pipeline = Pipeline::builder()
        .retry(retry(3, 10 * MS))
        .breaker(breaker.clone())
        .timeout(SEC)
        .build();
    let target = Target::default();
    let start = Instant::now();
    let answer = pipeline
        .call(|| {
            let call = target.hit();
            async move {
                if call < 3 {
                    sleep(10 * SEC).await;
                }
                Ok::<_, Error>(call)
            }
        })
        .await;
    assert_eq!(answer.ok(), Some(3));
    // Two attempts cut at 1 s, each followed by a 10 ms backoff.
    assert_eq!(start.elapsed(), 2 * SEC + 20 * MS);
    let stats = breaker.stats();
    assert_eq!((stats.failures, stats.successes), (2, 1));
    assert_eq!(pipeline.retry().unwrap().stats().retries, 2);
}

#[tokio::test(start_paused = true)]
async fn retry_waits_out_the_breakers_open_time() {
    let breaker = Breaker::builder("gpt")
        .consecutive_failures(1)
        .open_for(5 * SEC)
        .build();
    let events = Events::new();
    let mut received = events.subscribe();
    let pipeline = Pipeline::builder()
        .retry(
            RetryPolicy::builder()
                .max_attempts(3)
                .backoff(Backoff::constant(10 * MS))
                .events(events)
                .build(),
        )
        .breaker(breaker.clone())
        .build();
    let target = Target::default();
    let start = Instant::now();
    let answer = pipeline
        .call(|| {
            let call = target.hit();
            async move {
                if call == 1 {
                    Err("connection reset")
                } else {
                    Ok(call)
                }
            }
        })
        .await;
    assert_eq!(answer.ok(), Some(2));
    // Attempt 1 fails and trips; attempt 2 (after 10 ms) is refused with
    // 4.99 s left; attempt 3 is the half-open probe, exactly at 5 s.
    assert_eq!(start.elapsed(), 5 * SEC);
    assert_eq!(target.calls(), 2);
    assert_eq!(breaker.state(), State::Closed);
    let delays: Vec<_> = std::iter::from_fn(|| received.try_recv().ok())
        .filter_map(|event| match event {
            Event::RetryScheduled { delay, failure, .. } => Some((delay, failure.kind)),
            _ => None,
        })
        .collect();
    assert_eq!(
        delays,
        [
            (10 * MS, FailureKind::Transient),
            (5 * SEC - 10 * MS, FailureKind::Overloaded)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_deadline_bounds_retries() {
    let events = Events::new();
    let mut received = events.subscribe();
    let pipeline = Pipeline::builder()
        .name("gpt")
        .events(events)
        .deadline(3 * SEC)
        .retry(retry(10, 2 * SEC))
        .build();
    let target = Target::default();
    let start = Instant::now();
    let error = pipeline
        .call(|| {
            target.hit();
            async { Err::<(), _>("connection reset") }
        })
        .await
        .unwrap_err();
    match error {
        Error::Timeout(elapsed) => {
            assert_eq!(elapsed.scope, TimeoutScope::Overall);
            assert_eq!(elapsed.after, 3 * SEC);
        }
        other => panic!("expected the deadline, got {other}"),
    }
    assert_eq!(start.elapsed(), 3 * SEC);
    // Attempts at 0 s and 2 s; the one due at 4 s never starts.
    assert_eq!(target.calls(), 2);
    assert_eq!(
        received.try_recv().unwrap(),
        Event::TimedOut {
            name: "gpt".into(),
            after: 3 * SEC
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_deadline_cut_cancels_the_breaker_permit() {
    let breaker = Breaker::builder("gpt").consecutive_failures(1).build();
    let pipeline = Pipeline::builder()
        .deadline(SEC)
        .breaker(breaker.clone())
        .build();
    let error = pipeline
        .call(|| async {
            sleep(10 * SEC).await;
            Ok::<_, Error>(())
        })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout(_)));
    let stats = breaker.stats();
    assert_eq!(stats.state, State::Closed);
    assert_eq!((stats.cancelled, stats.failures), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn injected_faults_trip_the_breaker() {
    let breaker = Breaker::builder("gpt").consecutive_failures(3).build();
    let fault = FaultPolicy::new(FaultConfig {
        error_rate: 1.0,
        seed: Some(7),
        ..FaultConfig::default()
    });
    let pipeline = Pipeline::builder()
        .breaker(breaker.clone())
        .fault(fault.clone())
        .build();
    let target = Target::default();
    for _ in 0..3 {
        let error = pipeline
            .call(|| async { Ok::<_, Error>(target.hit()) })
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Injected(_)), "{error}");
    }
    assert_eq!(breaker.state(), State::Open);
    let error = pipeline
        .call(|| async { Ok::<_, Error>(target.hit()) })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::BreakerOpen(_)), "{error}");
    assert_eq!(target.calls(), 0);
    assert_eq!(fault.stats().errors, 3);
}

#[tokio::test(start_paused = true)]
async fn injected_hangs_are_cut_by_the_timeout() {
    let fault = FaultPolicy::new(FaultConfig {
        timeout_rate: 1.0,
        seed: Some(7),
        ..FaultConfig::default()
    });
    let events = Events::new();
    let mut received = events.subscribe();
    let pipeline = Pipeline::builder()
        .name("gpt")
        .events(events)
        .timeout(2 * SEC)
        .fault(fault)
        .build();
    let start = Instant::now();
    let error = pipeline
        .call(|| async { Ok::<_, Error>(()) })
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::Timeout(elapsed) if elapsed.scope == TimeoutScope::Attempt
    ));
    assert_eq!(start.elapsed(), 2 * SEC);
    assert_eq!(
        received.try_recv().unwrap(),
        Event::TimedOut {
            name: "gpt".into(),
            after: 2 * SEC
        }
    );
}

#[tokio::test(start_paused = true)]
async fn one_verdict_drives_breaker_and_retry() {
    let breaker = Breaker::builder("gpt").build();
    let pipeline = Pipeline::builder()
        .retry(retry(2, MS))
        .breaker(breaker.clone())
        .build();
    // An empty answer is a failure; an error saying "bad prompt" is the
    // caller's fault and not retried.
    let classifier = |result: &Result<&str, &str>| match result {
        Ok("") => Outcome::from(FailureKind::Transient),
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::from(FailureKind::InvalidRequest),
    };
    let target = Target::default();
    let answer = pipeline
        .call_classified(&classifier, || {
            target.hit();
            async { Ok("") }
        })
        .await;
    assert_eq!(answer.ok(), Some(""), "an Ok judged a failure is still Ok");
    assert_eq!(target.calls(), 2);
    assert_eq!(breaker.stats().failures, 2);

    let error = pipeline
        .call_classified(&classifier, || {
            target.hit();
            async { Err("bad prompt") }
        })
        .await
        .unwrap_err();
    assert_eq!(error.failure().kind, FailureKind::InvalidRequest);
    assert_eq!(target.calls(), 3);
    assert_eq!(breaker.stats().ignored, 1);
}

#[tokio::test(start_paused = true)]
async fn the_tower_layer_runs_the_pipeline() {
    let breaker = Breaker::builder("gpt").build();
    let pipeline = Pipeline::builder()
        .retry(retry(3, MS))
        .breaker(breaker.clone())
        .timeout(SEC)
        .build();
    let target = Target::default();
    let inner = {
        let target = target.clone();
        service_fn(move |prompt: String| {
            let call = target.hit();
            async move {
                match call {
                    1 => Err("connection reset"),
                    2 => {
                        sleep(10 * SEC).await;
                        Ok(String::new())
                    }
                    _ => Ok(format!("{prompt}!")),
                }
            }
        })
    };
    let mut service = ServiceBuilder::new().layer(pipeline.layer()).service(inner);
    let answer = service.ready().await.unwrap().call("hi".to_owned()).await;
    assert_eq!(answer.ok().as_deref(), Some("hi!"));
    assert_eq!(target.calls(), 3);
    let stats = breaker.stats();
    assert_eq!((stats.failures, stats.successes), (2, 1));

    // A refusal comes back as our error, not nested.
    breaker.force_open();
    let error = service.oneshot("hi".to_owned()).await.unwrap_err();
    assert!(matches!(error, Error::BreakerOpen(_)), "{error}");
    assert_eq!(target.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_pipeline_future_is_send() {
    fn assert_send<T: Send>(value: T) -> T {
        value
    }
    let pipeline = Pipeline::builder()
        .deadline(SEC)
        .retry(retry(2, MS))
        .breaker(Breaker::builder("gpt").build())
        .rate_limit(RateLimit::builder().build())
        .bulkhead(Bulkhead::builder(1).build())
        .timeout(SEC)
        .fault(FaultPolicy::off())
        .build();
    let handle =
        tokio::spawn(
            async move { assert_send(pipeline.call(|| async { Ok::<_, Error>(1) })).await },
        );
    assert_eq!(handle.await.unwrap().ok(), Some(1));
}

/// The permit form: a call admitted now, its outcome reported later (a
/// stream), counted by the breaker like a call's; its bulkhead place held
/// until then.
#[tokio::test(start_paused = true)]
async fn a_lease_reports_an_outcome_known_later() {
    let breaker = Breaker::builder("gpt").consecutive_failures(2).build();
    let bulkhead = Bulkhead::builder(1).max_queue(1).build();
    let pipeline = Pipeline::builder()
        .breaker(breaker.clone())
        .bulkhead(bulkhead.clone())
        .build();
    let lease = pipeline.admit(1).await.unwrap();
    assert_eq!(
        bulkhead.in_flight(),
        1,
        "the place is held while the stream runs"
    );
    sleep(SEC).await;
    assert_eq!(lease.elapsed(), SEC);
    // A second call waits in the queue until the first is reported.
    let waiting = tokio::spawn({
        let pipeline = pipeline.clone();
        async move { pipeline.admit(1).await.map(Lease::succeed) }
    });
    sleep(MS).await;
    assert_eq!(bulkhead.queued(), 1);
    lease.fail(Failure::new(FailureKind::Transient));
    waiting.await.unwrap().unwrap();
    assert_eq!(bulkhead.in_flight(), 0);
    let stats = breaker.stats();
    assert_eq!((stats.failures, stats.successes), (1, 1));
    // Dropped unreported: cancelled, not a failure; two failures open it.
    drop(pipeline.admit(1).await.unwrap());
    assert_eq!(breaker.stats().cancelled, 1);
    for _ in 0..2 {
        (pipeline.admit(1).await.unwrap()).fail(Failure::new(FailureKind::Overloaded));
    }
    assert_eq!(breaker.state(), State::Open);
    let refused = pipeline.admit(1).await.unwrap_err();
    assert!(matches!(refused, Error::BreakerOpen(_)));
    assert_eq!(bulkhead.in_flight(), 0, "an open breaker takes no place");
}

/// A lease refused by the rate limit or the bulkhead leaves the breaker's
/// permit ignored, and a lease corrects the rate limit's unit estimate.
#[tokio::test(start_paused = true)]
async fn a_lease_refused_locally_is_ignored_by_the_breaker() {
    let breaker = Breaker::builder("gpt").consecutive_failures(1).build();
    let limit = RateLimit::builder().units(Quota::per_second(100)).build();
    let pipeline = Pipeline::builder()
        .breaker(breaker.clone())
        .rate_limit(limit.clone())
        .build();
    let lease = pipeline.admit(90).await.unwrap();
    let refused = pipeline.admit(90).await.unwrap_err();
    assert!(refused.is_local_rejection());
    assert_eq!(breaker.stats().ignored, 1);
    // The first call cost 10 units, not 90: the next 80 fit.
    lease.correct_units(10);
    lease.succeed();
    pipeline.admit(80).await.unwrap().succeed();
    assert_eq!(breaker.state(), State::Closed);
}
