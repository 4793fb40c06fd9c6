//! Public behaviour of the circuit breaker, with paused time.

// Test helpers outside `#[test]` functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use steadfast::breaker::{
    Breaker, BreakerBuilder, BreakerLayer, BreakerOpen, SlidingWindow, State,
};
use steadfast::bulkhead::{BulkheadFull, BulkheadRejection};
use steadfast::events::{Event, Events, Rejection};
use steadfast::{Error, Failure, FailureKind, Outcome};
use tokio::sync::broadcast::Receiver;
use tokio::time::advance;
use tokio_test::{assert_pending, assert_ready_ok};
use tower_test::mock;

const SEC: Duration = Duration::from_secs(1);

fn builder() -> BreakerBuilder {
    Breaker::builder("gpt")
        .count_window(10)
        .min_calls(4)
        .failure_rate(0.5)
        .open_for(10 * SEC)
}

fn succeed(breaker: &Breaker) {
    breaker.try_acquire().expect("permitted").record_success();
}

fn fail(breaker: &Breaker) {
    breaker
        .try_acquire()
        .expect("permitted")
        .record_failure(Failure::transient());
}

fn retry_after(breaker: &Breaker) -> Option<Duration> {
    breaker.try_acquire().expect_err("rejected").retry_after
}

/// Trips a closed breaker by hand and waits out its open time.
async fn to_half_open(breaker: &Breaker) {
    breaker.trip();
    advance(breaker.stats().open_remaining.expect("open")).await;
}

fn drain(receiver: &mut Receiver<Event>) -> Vec<Event> {
    std::iter::from_fn(|| receiver.try_recv().ok()).collect()
}

fn changed(from: State, to: State) -> Event {
    Event::BreakerStateChanged {
        name: "gpt".into(),
        from,
        to,
    }
}

#[tokio::test(start_paused = true)]
async fn failure_rate_trips_only_after_min_calls() {
    let breaker = builder().build();
    fail(&breaker);
    fail(&breaker);
    fail(&breaker);
    assert_eq!(breaker.state(), State::Closed, "3 calls < min_calls 4");
    fail(&breaker);
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.stats().trips, 1);
}

#[tokio::test(start_paused = true)]
async fn failure_rate_threshold_is_inclusive() {
    let breaker = builder().build();
    succeed(&breaker);
    succeed(&breaker);
    succeed(&breaker);
    fail(&breaker);
    assert_eq!(breaker.state(), State::Closed, "1 of 4 failed");
    fail(&breaker);
    assert_eq!(breaker.state(), State::Closed, "2 of 5 failed");
    fail(&breaker);
    assert_eq!(breaker.state(), State::Open, "3 of 6 failed = 50%");
}

/// The rate is judged when a success is recorded too: one that brings the
/// window to `min_calls` with failures at the rate trips it (9 failures
/// then a success is 90%).
#[tokio::test(start_paused = true)]
async fn a_success_that_brings_the_window_to_min_calls_trips_at_the_rate() {
    let breaker = builder().min_calls(10).build();
    for _ in 0..9 {
        fail(&breaker);
    }
    assert_eq!(breaker.state(), State::Closed, "9 calls < min_calls 10");
    succeed(&breaker);
    assert_eq!(breaker.state(), State::Open, "9 of 10 failed");
}

/// Older successes leaving a time window raise its failure rate: the next
/// success is judged at that rate.
#[tokio::test(start_paused = true)]
async fn a_success_in_a_time_window_is_judged_after_older_calls_left() {
    let breaker = builder()
        .window(SlidingWindow::Time {
            length: 10 * SEC,
            buckets: 10,
        })
        .min_calls(3)
        .build();
    for _ in 0..3 {
        succeed(&breaker);
    }
    advance(5 * SEC).await;
    fail(&breaker);
    fail(&breaker);
    assert_eq!(breaker.state(), State::Closed, "2 of 5 failed");
    advance(5 * SEC).await;
    succeed(&breaker);
    assert_eq!(breaker.state(), State::Open, "2 of the last 3 failed");
}

/// Rates are fractions: one given as a percentage is held to 1 by `build`
/// (and refused by `try_build`), not left to never trip.
#[tokio::test(start_paused = true)]
async fn rates_out_of_range_are_clamped_or_refused() {
    let percentage = builder().failure_rate(50.0).min_calls(4).build();
    assert_eq!(percentage.config().failure_rate, 1.0, "the rate used");
    for _ in 0..4 {
        fail(&percentage);
    }
    assert_eq!(percentage.state(), State::Open, "held to 1: all failed");
    let not_a_number = builder().failure_rate(f64::NAN).build();
    for _ in 0..3 {
        fail(&not_a_number);
    }
    succeed(&not_a_number);
    assert_eq!(
        not_a_number.state(),
        State::Open,
        "the default 0.5: 3 of 4 failed"
    );
    let zero = builder().failure_rate(0.0).build();
    for _ in 0..4 {
        succeed(&zero);
    }
    assert_eq!(zero.state(), State::Closed, "no failure, no trip");
    fail(&zero);
    assert_eq!(zero.state(), State::Open);
    for rate in [50.0, 0.0, f64::NAN, -1.0] {
        let refused = builder().failure_rate(rate).try_build().map(|_| ());
        assert_eq!(refused.map_err(|e| e.key), Err("failure_rate"), "{rate}");
    }
}

#[tokio::test(start_paused = true)]
async fn count_window_forgets_the_oldest_calls() {
    let breaker = builder().count_window(4).build();
    fail(&breaker);
    for _ in 0..5 {
        succeed(&breaker);
    }
    assert_eq!(breaker.stats().window_calls, 4);
    fail(&breaker);
    assert_eq!(breaker.state(), State::Closed, "1 of the last 4 failed");
    fail(&breaker);
    assert_eq!(breaker.state(), State::Open, "2 of the last 4 failed");
}

#[tokio::test(start_paused = true)]
async fn time_window_expires_old_calls() {
    let breaker = builder()
        .window(SlidingWindow::Time {
            length: 10 * SEC,
            buckets: 10,
        })
        .min_calls(3)
        .build();
    fail(&breaker);
    fail(&breaker);
    advance(9 * SEC).await;
    assert_eq!(breaker.stats().window_calls, 2);
    advance(SEC).await;
    assert_eq!(breaker.stats().window_calls, 0, "both calls fell out");
    succeed(&breaker);
    fail(&breaker);
    assert_eq!(breaker.state(), State::Closed, "2 calls < min_calls 3");
    fail(&breaker);
    assert_eq!(breaker.state(), State::Open, "2 of 3 failed");
}

#[tokio::test(start_paused = true)]
async fn slow_call_rate_trips() {
    let breaker = builder()
        .min_calls(2)
        .failure_rate(1.0)
        .slow_call_duration(2 * SEC)
        .slow_call_rate(0.5)
        .build();
    succeed(&breaker);
    let permit = breaker.try_acquire().unwrap();
    advance(SEC).await;
    permit.record_success();
    assert_eq!(breaker.stats().slow, 0, "1 s is not slow");
    let permit = breaker.try_acquire().unwrap();
    advance(3 * SEC).await;
    permit.record_success();
    assert_eq!(breaker.stats().slow, 1);
    assert_eq!(breaker.state(), State::Closed, "1 of 3 slow");
    let permit = breaker.try_acquire().unwrap();
    advance(2 * SEC).await;
    permit.record_success();
    assert_eq!(breaker.state(), State::Open, "2 of 4 slow");
    assert_eq!(breaker.stats().failures, 0);
}

#[tokio::test(start_paused = true)]
async fn consecutive_failures_trip_regardless_of_rate() {
    let breaker = builder()
        .min_calls(100)
        .count_window(100)
        .consecutive_failures(3)
        .build();
    fail(&breaker);
    fail(&breaker);
    succeed(&breaker);
    fail(&breaker);
    fail(&breaker);
    assert_eq!(breaker.stats().consecutive_failures, 2);
    assert_eq!(breaker.state(), State::Closed);
    fail(&breaker);
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn failures_that_spare_the_target_are_ignored() {
    let breaker = builder().consecutive_failures(1).build();
    let permit = breaker.try_acquire().unwrap();
    permit.record(Outcome::from(FailureKind::InvalidRequest));
    breaker
        .try_acquire()
        .unwrap()
        .record_failure(Failure::new(FailureKind::ContextLength));
    assert_eq!(breaker.state(), State::Closed);
    let stats = breaker.stats();
    assert_eq!(
        (stats.ignored, stats.failures, stats.window_calls),
        (2, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn open_refuses_until_open_for_then_half_opens_lazily() {
    let breaker = builder().consecutive_failures(1).build();
    fail(&breaker);
    assert_eq!(retry_after(&breaker), Some(10 * SEC));
    advance(9 * SEC).await;
    assert_eq!(retry_after(&breaker), Some(SEC));
    advance(SEC).await;
    assert_eq!(
        breaker.state(),
        State::Open,
        "no timer: still open until asked"
    );
    let probe = breaker.try_acquire().expect("probe admitted");
    assert_eq!(breaker.state(), State::HalfOpen);
    probe.record_success();
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.stats().rejected, 2);
}

#[tokio::test(start_paused = true)]
async fn half_open_limits_probes_and_cancelling_frees_a_slot() {
    let breaker = builder().half_open_calls(2).build();
    to_half_open(&breaker).await;
    let first = breaker.try_acquire().unwrap();
    let second = breaker.try_acquire().unwrap();
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(retry_after(&breaker), None, "every probe slot is taken");
    drop(first);
    assert_eq!(breaker.stats().cancelled, 1);
    let third = breaker.try_acquire().expect("the cancelled probe's slot");
    assert!(breaker.try_acquire().is_err());
    second.record_success();
    assert_eq!(breaker.state(), State::HalfOpen, "one success of two");
    third.record_success();
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.stats().window_calls, 0, "closing clears the window");
}

#[tokio::test(start_paused = true)]
async fn ignored_probe_frees_its_slot_without_deciding() {
    let breaker = builder().build();
    to_half_open(&breaker).await;
    breaker.try_acquire().unwrap().record_ignored();
    assert_eq!(breaker.state(), State::HalfOpen);
    succeed(&breaker);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn failed_probe_reopens_for_longer_up_to_the_cap() {
    let breaker = builder()
        .consecutive_failures(1)
        .open_for_multiplier(2.0)
        .max_open_for(25 * SEC)
        .build();
    fail(&breaker);
    let mut opened_for = Vec::new();
    for _ in 0..3 {
        let open = breaker.stats().open_remaining.unwrap();
        opened_for.push(open.as_secs());
        advance(open).await;
        fail(&breaker);
        assert_eq!(breaker.state(), State::Open);
    }
    opened_for.push(breaker.stats().open_remaining.unwrap().as_secs());
    assert_eq!(opened_for, [10, 20, 25, 25]);
    advance(25 * SEC).await;
    succeed(&breaker);
    assert_eq!(breaker.state(), State::Closed);
    fail(&breaker);
    assert_eq!(
        breaker.stats().open_remaining,
        Some(10 * SEC),
        "a successful close resets the growth"
    );
    assert_eq!(breaker.stats().trips, 5);
}

#[tokio::test(start_paused = true)]
async fn manual_operations() {
    let breaker = builder().consecutive_failures(1).build();
    breaker.force_open();
    assert_eq!(breaker.state(), State::ForcedOpen);
    advance(3600 * SEC).await;
    assert_eq!(retry_after(&breaker), None);

    breaker.disable();
    fail(&breaker);
    fail(&breaker);
    assert_eq!(breaker.state(), State::Disabled, "nothing is judged");
    assert_eq!(breaker.stats().failures, 2);

    breaker.trip();
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(retry_after(&breaker), Some(10 * SEC));

    breaker.reset();
    assert_eq!(breaker.state(), State::Closed);
    succeed(&breaker);
    let stats = breaker.stats();
    assert_eq!((stats.trips, stats.window_calls), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn outcomes_recorded_after_a_reset_never_count() {
    let breaker = builder().consecutive_failures(2).build();
    let old = breaker.try_acquire().unwrap();
    let older = breaker.try_acquire_owned().unwrap();
    fail(&breaker);
    breaker.reset();
    assert_eq!(breaker.stats().window_calls, 0);
    old.record_failure(Failure::transient());
    older.record_failure(Failure::timeout());
    let stats = breaker.stats();
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        (
            stats.stale,
            stats.failures,
            stats.window_calls,
            stats.consecutive_failures
        ),
        (2, 1, 0, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn events_are_emitted_in_order() {
    let events = Events::new();
    let mut receiver = events.subscribe();
    let breaker = builder().consecutive_failures(1).events(events).build();
    fail(&breaker);
    assert!(breaker.try_acquire().is_err());
    advance(10 * SEC).await;
    succeed(&breaker);
    breaker.force_open();
    breaker.disable();
    breaker.reset();
    breaker.reset();
    assert_eq!(
        drain(&mut receiver),
        [
            changed(State::Closed, State::Open),
            Event::Rejected {
                name: "gpt".into(),
                by: Rejection::BreakerOpen
            },
            changed(State::Open, State::HalfOpen),
            changed(State::HalfOpen, State::Closed),
            changed(State::Closed, State::ForcedOpen),
            changed(State::ForcedOpen, State::Disabled),
            changed(State::Disabled, State::Closed),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn stats_account_for_every_permit() {
    stats_account_for_every_permit_with(builder()).await;
}

#[tokio::test(start_paused = true)]
async fn stats_account_for_every_permit_with_a_time_window() {
    stats_account_for_every_permit_with(builder().window(SlidingWindow::Time {
        length: 60 * SEC,
        buckets: 6,
    }))
    .await;
}

/// Lifetime counts survive a reset and the window forgetting calls.
#[tokio::test(start_paused = true)]
async fn lifetime_counts_outlive_the_window() {
    for window in [
        SlidingWindow::Count(2),
        SlidingWindow::Time {
            length: 2 * SEC,
            buckets: 2,
        },
    ] {
        let breaker = builder().window(window).build();
        for _ in 0..3 {
            succeed(&breaker);
        }
        fail(&breaker);
        advance(5 * SEC).await;
        breaker.reset();
        succeed(&breaker);
        let stats = breaker.stats();
        assert_eq!(
            [stats.permitted, stats.successes, stats.failures],
            [5, 4, 1],
            "{window:?}"
        );
        assert_eq!(stats.window_calls, 1, "{window:?}");
    }
}

async fn stats_account_for_every_permit_with(builder: BreakerBuilder) {
    let breaker = builder.slow_call_duration(SEC).build();
    succeed(&breaker);
    fail(&breaker);
    breaker
        .try_acquire()
        .unwrap()
        .record_failure(FailureKind::InvalidRequest.into());
    drop(breaker.try_acquire().unwrap());
    let slow = breaker.try_acquire().unwrap();
    let stale = breaker.try_acquire().unwrap();
    let _outstanding = breaker.try_acquire().unwrap();
    advance(SEC).await;
    slow.record_success();
    breaker.trip();
    stale.record_success();
    assert!(breaker.try_acquire().is_err());
    let stats = breaker.stats();
    assert_eq!(stats.state, State::Open);
    assert_eq!(
        [
            stats.permitted,
            stats.rejected,
            stats.successes,
            stats.failures,
            stats.ignored,
            stats.slow,
            stats.cancelled,
            stats.stale,
            stats.trips,
        ],
        [7, 1, 2, 1, 1, 1, 1, 1, 1]
    );
    assert_eq!(stats.window_calls, 3);
    assert!((stats.failure_rate - 1.0 / 3.0).abs() < 1e-9);
    assert!((stats.slow_call_rate - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(stats.open_remaining, Some(10 * SEC));
}

#[tokio::test(start_paused = true)]
async fn remote_state_is_adopted_without_counting_a_trip() {
    let events = Events::new();
    let mut receiver = events.subscribe();
    let breaker = builder().open_for_multiplier(2.0).events(events).build();
    assert!(breaker.apply_remote(State::Open, Some(5 * SEC)));
    assert_eq!(retry_after(&breaker), Some(5 * SEC));
    assert!(
        !breaker.apply_remote(State::Open, Some(7 * SEC)),
        "already open"
    );
    assert_eq!(retry_after(&breaker), Some(7 * SEC));
    assert!(breaker.apply_remote(State::Closed, None));
    breaker.trip();
    let stats = breaker.stats();
    assert_eq!(stats.trips, 1);
    assert_eq!(
        stats.open_remaining,
        Some(10 * SEC),
        "remote opens do not grow it"
    );
    assert_eq!(
        drain(&mut receiver)
            .into_iter()
            .filter(|event| matches!(event, Event::BreakerStateChanged { .. }))
            .count(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn direct_call_judges_errors_and_ignores_local_rejections() {
    let breaker = builder().consecutive_failures(2).build();
    let ok = breaker.call(|| async { Ok::<_, std::io::Error>(7) }).await;
    assert_eq!(ok.unwrap(), 7);
    let refused = breaker
        .call(|| async {
            Err::<u8, _>(Error::from(BulkheadFull {
                name: "gpt".into(),
                max_concurrent: 1,
                reason: BulkheadRejection::QueueFull,
            }))
        })
        .await;
    assert!(matches!(refused, Err(Error::BulkheadFull(_))));
    let failed = breaker
        .call(|| async { Err::<u8, _>(std::io::Error::other("reset")) })
        .await;
    assert_eq!(failed.unwrap_err().failure(), Failure::transient());
    assert_eq!(breaker.state(), State::Closed);
    let stats = breaker.stats();
    assert_eq!((stats.successes, stats.ignored, stats.failures), (1, 1, 1));

    // A classifier may judge an `Ok` a failure; the value is still returned.
    let empty_is_failure = |result: &Result<&str, std::io::Error>| match result {
        Ok("") => Outcome::from(FailureKind::Transient),
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::from(FailureKind::Timeout),
    };
    let empty = breaker
        .call_classified(&empty_is_failure, || async { Ok("") })
        .await;
    assert_eq!(empty.unwrap(), "");
    assert_eq!(breaker.state(), State::Open);
    let refused = breaker.call(|| async { Ok::<_, std::io::Error>(()) }).await;
    assert!(matches!(
        refused,
        Err(Error::BreakerOpen(BreakerOpen {
            retry_after: Some(_),
            ..
        }))
    ));
}

#[tokio::test(start_paused = true)]
async fn call_classified_verdict_becomes_the_error_failure() {
    let breaker = builder().build();
    let as_timeout = |result: &Result<(), std::io::Error>| match result {
        Ok(()) => Outcome::Success,
        Err(_) => Outcome::from(FailureKind::Timeout),
    };
    let error = breaker
        .call_classified(&as_timeout, || async { Err(std::io::Error::other("slow")) })
        .await
        .unwrap_err();
    assert_eq!(error.failure().kind, FailureKind::Timeout);
    assert_eq!(breaker.stats().failures, 1);
}

#[tokio::test(start_paused = true)]
async fn tower_service_reports_outcomes_and_rejects_without_calling_inner() {
    let breaker = builder().consecutive_failures(2).build();
    let (mut service, mut handle) =
        mock::spawn_layer::<&str, &str, _>(BreakerLayer::new(breaker.clone()));

    assert_ready_ok!(service.poll_ready());
    let response = service.call("hi");
    let (request, reply) = handle.next_request().await.unwrap();
    assert_eq!(request, "hi");
    reply.send_response("hello");
    assert_eq!(response.await.unwrap(), "hello");

    for _ in 0..2 {
        assert_ready_ok!(service.poll_ready());
        let response = service.call("hi");
        let (_, reply) = handle.next_request().await.unwrap();
        reply.send_error(std::io::Error::other("boom"));
        let error = response.await.unwrap_err();
        assert!(matches!(error, Error::Call { .. }));
    }
    assert_eq!(breaker.state(), State::Open);

    assert_ready_ok!(service.poll_ready(), "poll_ready takes no permit");
    let refused = service.call("hi").await.unwrap_err();
    assert!(matches!(refused, Error::BreakerOpen(_)));
    assert_pending!(handle.poll_request(), "the inner service never saw it");
    let stats = breaker.stats();
    assert_eq!((stats.successes, stats.failures, stats.rejected), (1, 2, 1));
}

#[tokio::test(start_paused = true)]
async fn dropped_response_future_cancels_its_probe() {
    let breaker = builder().build();
    to_half_open(&breaker).await;
    let (mut service, mut handle) =
        mock::spawn_layer::<&str, &str, _>(BreakerLayer::new(breaker.clone()));
    assert_ready_ok!(service.poll_ready());
    let response = service.call("probe");
    assert!(breaker.try_acquire().is_err(), "the probe slot is held");
    drop(response);
    drop(handle.next_request().await);
    assert_eq!(breaker.stats().cancelled, 1);
    succeed(&breaker);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn tower_classifier_can_fail_ok_responses() {
    let breaker = builder().consecutive_failures(1).build();
    let classifier = |result: &Result<&str, Error>| match result {
        Ok("overloaded") => Outcome::from(FailureKind::Overloaded),
        Ok(_) => Outcome::Success,
        Err(error) => Outcome::Failure(error.failure()),
    };
    let layer = BreakerLayer::new(breaker.clone()).with_classifier(classifier);
    let (mut service, mut handle) = mock::spawn_layer::<&str, &str, _>(layer);
    assert_ready_ok!(service.poll_ready());
    let response = service.call("hi");
    handle
        .next_request()
        .await
        .unwrap()
        .1
        .send_response("overloaded");
    assert_eq!(response.await.unwrap(), "overloaded");
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn concurrent_probes_never_exceed_the_limit() {
    let breaker = builder().half_open_calls(3).build();
    for _ in 0..50 {
        breaker.reset();
        breaker.apply_remote(State::HalfOpen, None);
        let barrier = std::sync::Barrier::new(8);
        let admitted: Vec<_> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        breaker.try_acquire_owned().ok()
                    })
                })
                .collect();
            threads
                .into_iter()
                .filter_map(|thread| thread.join().unwrap())
                .collect()
        });
        assert_eq!(admitted.len(), 3);
    }
}

#[test]
fn concurrent_failures_trip_exactly_once() {
    for _ in 0..50 {
        let events = Events::new();
        let mut receiver = events.subscribe();
        let breaker = builder().consecutive_failures(1).events(events).build();
        let permits: Vec<_> = (0..8)
            .map(|_| breaker.try_acquire_owned().unwrap())
            .collect();
        let barrier = std::sync::Barrier::new(8);
        std::thread::scope(|scope| {
            for permit in permits {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    permit.record_failure(Failure::transient());
                });
            }
        });
        let stats = breaker.stats();
        assert_eq!(stats.trips, 1);
        assert_eq!(stats.failures + stats.stale, 8);
        assert_eq!(drain(&mut receiver), [changed(State::Closed, State::Open)]);
    }
}

/// The state machine driven by random operations, checked against a model of
/// generations, trip streaks and open deadlines.
mod model {
    use super::*;
    use proptest::prelude::*;
    use steadfast::breaker::{BreakerStats, Permit};
    use tokio::time::Instant;

    const HALF_OPEN_CALLS: usize = 2;
    const COUNT_WINDOW: u32 = 5;

    #[derive(Debug, Clone)]
    enum Op {
        Acquire,
        Success(usize),
        Failure(usize, FailureKind),
        Drop(usize),
        Advance(u64),
        Trip,
        Reset,
        ForceOpen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => Just(Op::Acquire),
            4 => any::<usize>().prop_map(Op::Success),
            4 => (any::<usize>(), proptest::sample::select(FailureKind::ALL.to_vec()))
                .prop_map(|(i, kind)| Op::Failure(i, kind)),
            2 => any::<usize>().prop_map(Op::Drop),
            3 => (0u64..1500).prop_map(Op::Advance),
            1 => Just(Op::Trip),
            1 => Just(Op::Reset),
            1 => Just(Op::ForceOpen),
        ]
    }

    /// What the model knows: the generation (bumped by every transition and
    /// manual operation), the trip streak and the open deadline.
    struct Model {
        generation: u64,
        streak: u32,
        deadline: Option<Instant>,
    }

    impl Model {
        fn expected_open_for(&self) -> Duration {
            let grown = SEC * 2u32.saturating_pow(self.streak.saturating_sub(1).min(10));
            grown.min(5 * SEC)
        }

        fn entered_open(&mut self, breaker: &Breaker) {
            self.streak += 1;
            let open_for = self.expected_open_for();
            assert_eq!(breaker.stats().open_remaining, Some(open_for));
            self.deadline = Some(Instant::now() + open_for);
        }

        /// Applies the transitions the breaker announced.
        fn observe(&mut self, breaker: &Breaker, receiver: &mut Receiver<Event>) {
            for event in drain(receiver) {
                if let Event::BreakerStateChanged { to, .. } = event {
                    self.generation += 1;
                    match to {
                        State::Open => self.entered_open(breaker),
                        State::Closed => self.streak = 0,
                        _ => {}
                    }
                }
            }
        }
    }

    fn settled(stats: &BreakerStats) -> u64 {
        stats.successes + stats.failures + stats.ignored + stats.cancelled + stats.stale
    }

    async fn run(ops: Vec<Op>, window: SlidingWindow) {
        let events = Events::new();
        let mut receiver = events.subscribe();
        let breaker = Breaker::builder("model")
            .window(window)
            .min_calls(3)
            .failure_rate(0.5)
            .consecutive_failures(3)
            .slow_call_duration(Duration::from_millis(300))
            .slow_call_rate(0.5)
            .open_for(SEC)
            .open_for_multiplier(2.0)
            .max_open_for(5 * SEC)
            .half_open_calls(HALF_OPEN_CALLS as u32)
            .events(events)
            .build();
        let mut model = Model {
            generation: 0,
            streak: 0,
            deadline: None,
        };
        let mut permits: Vec<(Permit<'_>, u64)> = Vec::new();
        for op in ops {
            let before = breaker.stats();
            match op {
                Op::Acquire => {
                    let state = breaker.state();
                    let acquired = breaker.try_acquire();
                    model.observe(&breaker, &mut receiver);
                    let now = Instant::now();
                    match (&acquired, state) {
                        (Ok(_), State::Open) => assert!(now >= model.deadline.unwrap()),
                        (Ok(_), State::ForcedOpen) => panic!("forced open admitted a call"),
                        (Err(open), State::Open) => {
                            let deadline = model.deadline.unwrap();
                            assert!(now < deadline, "refused after the open time");
                            assert_eq!(open.retry_after, Some(deadline - now));
                        }
                        (Err(_), State::Closed | State::Disabled) => panic!("closed refused"),
                        _ => {}
                    }
                    if acquired.is_err() && breaker.state() == State::HalfOpen {
                        let probes = permits
                            .iter()
                            .filter(|(_, generation)| *generation == model.generation)
                            .count();
                        assert_eq!(probes, HALF_OPEN_CALLS, "refused with a free slot");
                    }
                    if let Ok(permit) = acquired {
                        permits.push((permit, model.generation));
                    }
                }
                Op::Success(i) | Op::Failure(i, _) | Op::Drop(i) if !permits.is_empty() => {
                    let (permit, generation) = permits.swap_remove(i % permits.len());
                    let current = generation == model.generation;
                    match op {
                        Op::Success(_) => permit.record_success(),
                        Op::Failure(_, kind) => permit.record_failure(kind.into()),
                        _ => drop(permit),
                    }
                    let after = breaker.stats();
                    let dropped = matches!(op, Op::Drop(_));
                    assert_eq!(after.stale - before.stale, u64::from(!current && !dropped));
                    if !current {
                        assert_eq!(after.window_calls, before.window_calls, "stale counted");
                        assert_eq!(after.state, before.state, "stale outcome moved the state");
                    }
                    model.observe(&breaker, &mut receiver);
                }
                Op::Advance(millis) => advance(Duration::from_millis(millis)).await,
                Op::Trip => {
                    let was_open = breaker.state() == State::Open;
                    breaker.trip();
                    if was_open {
                        model.generation += 1;
                        model.entered_open(&breaker);
                    }
                    model.observe(&breaker, &mut receiver);
                }
                Op::Reset => {
                    if breaker.state() == State::Closed {
                        model.generation += 1;
                    }
                    model.streak = 0;
                    breaker.reset();
                    model.observe(&breaker, &mut receiver);
                    assert_eq!(breaker.stats().window_calls, 0);
                }
                Op::ForceOpen => {
                    if breaker.state() == State::ForcedOpen {
                        model.generation += 1;
                    }
                    breaker.force_open();
                    model.observe(&breaker, &mut receiver);
                }
                _ => {}
            }
            let stats = breaker.stats();
            if stats.state == State::HalfOpen {
                let probes = permits
                    .iter()
                    .filter(|(_, generation)| *generation == model.generation)
                    .count();
                assert!(probes <= HALF_OPEN_CALLS, "{probes} probes in flight");
            }
            assert_eq!(stats.permitted, settled(&stats) + permits.len() as u64);
            if let SlidingWindow::Count(size) = window {
                assert!(stats.window_calls <= size);
            }
            assert!(stats.failure_rate <= 1.0 && stats.slow_call_rate <= 1.0);
            assert!(stats.consecutive_failures <= 3);
        }
    }

    fn check(ops: Vec<Op>, window: SlidingWindow) {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(run(ops, window));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn count_window_state_machine(ops in proptest::collection::vec(op(), 1..200)) {
            check(ops, SlidingWindow::Count(COUNT_WINDOW));
        }

        #[test]
        fn time_window_state_machine(ops in proptest::collection::vec(op(), 1..200)) {
            check(ops, SlidingWindow::Time { length: 2 * SEC, buckets: 4 });
        }
    }
}

#[tokio::test(start_paused = true)]
async fn would_admit_follows_the_open_time_without_taking_a_permit() {
    let breaker = Breaker::builder("wa")
        .consecutive_failures(1)
        .open_for(Duration::from_secs(5))
        .build();
    assert!(breaker.would_admit());
    breaker
        .try_acquire()
        .unwrap()
        .record_failure(Failure::transient());
    assert_eq!(breaker.state(), State::Open);
    assert!(!breaker.would_admit());
    tokio::time::advance(Duration::from_secs(5)).await;
    assert!(breaker.would_admit());
    assert_eq!(
        breaker.state(),
        State::Open,
        "asking took no permit and made no transition"
    );
    breaker.force_open();
    assert!(!breaker.would_admit());
}

#[tokio::test(start_paused = true)]
async fn open_remaining_counts_down_to_zero_without_taking_a_permit() {
    let breaker = builder().build();
    assert_eq!(breaker.open_remaining(), None, "closed");
    breaker.trip();
    assert_eq!(breaker.open_remaining(), Some(10 * SEC));
    advance(4 * SEC).await;
    assert_eq!(breaker.open_remaining(), Some(6 * SEC));
    advance(7 * SEC).await;
    assert_eq!(
        breaker.open_remaining(),
        Some(Duration::ZERO),
        "over, not yet half-open"
    );
    assert_eq!(breaker.state(), State::Open, "reading it changes nothing");
    assert_eq!(breaker.stats().rejected, 0);
    succeed(&breaker);
    assert_eq!(breaker.open_remaining(), None, "half-open, then closed");
}
