//! Public behaviour of the retry policy.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use steadfast::breaker::{Breaker, BreakerOpen};
use steadfast::budget::Budget;
use steadfast::events::{Event, Events};
use steadfast::retry::{Backoff, BackoffKind, Jitter, RetryPolicy, RetryService, RetryStats};
use steadfast::rng::Rng;
use steadfast::{Error, Failure, FailureKind, Outcome};
use tokio::time::Instant;
use tower::{Service, ServiceExt};

const MS: Duration = Duration::from_millis(1);

/// An op that fails with `failure` `failures` times, then answers the attempt
/// number; records when each attempt started.
fn flaky(
    failures: u32,
    failure: Failure,
    starts: Arc<std::sync::Mutex<Vec<Duration>>>,
) -> impl FnMut() -> std::future::Ready<Result<u32, Error>> {
    let origin = Instant::now();
    let mut attempt = 0;
    move || {
        attempt += 1;
        if let Ok(mut starts) = starts.lock() {
            starts.push(origin.elapsed());
        }
        std::future::ready(if attempt <= failures {
            Err(Error::call("boom", failure))
        } else {
            Ok(attempt)
        })
    }
}

fn starts() -> Arc<std::sync::Mutex<Vec<Duration>>> {
    Arc::default()
}

#[tokio::test(start_paused = true)]
async fn waits_the_backoff_between_attempts() {
    let retry = RetryPolicy::builder()
        .max_attempts(4)
        .backoff(Backoff::exponential(100 * MS, 10_000 * MS))
        .build();
    let times = starts();
    let answer = retry
        .call(flaky(3, Failure::transient(), times.clone()))
        .await;
    assert_eq!(answer.unwrap(), 4);
    assert_eq!(
        *times.lock().unwrap(),
        [Duration::ZERO, 100 * MS, 300 * MS, 700 * MS]
    );
    assert_eq!(
        retry.stats(),
        RetryStats {
            calls: 1,
            attempts: 4,
            retries: 3,
            succeeded_after_retry: 1,
            ..RetryStats::default()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_wins_over_a_shorter_backoff() {
    let retry = RetryPolicy::builder()
        .backoff(Backoff::constant(10 * MS))
        .build();
    let times = starts();
    let limited = Failure::rate_limited(Some(Duration::from_secs(2)));
    assert_eq!(
        retry.call(flaky(1, limited, times.clone())).await.unwrap(),
        2
    );
    assert_eq!(*times.lock().unwrap(), [Duration::ZERO, 2_000 * MS]);
}

#[tokio::test(start_paused = true)]
async fn gives_up_at_once_when_asked_to_wait_too_long() {
    let retry = RetryPolicy::builder()
        .max_retry_after(Duration::from_secs(1))
        .build();
    let times = starts();
    let limited = Failure::rate_limited(Some(Duration::from_secs(5)));
    let error = retry
        .call(flaky(1, limited, times.clone()))
        .await
        .unwrap_err();
    assert_eq!(error.failure(), limited);
    assert_eq!(times.lock().unwrap().len(), 1);
    assert_eq!(retry.stats().retry_after_too_long, 1);
}

#[tokio::test(start_paused = true)]
async fn not_retryable_failures_end_the_call() {
    let retry = RetryPolicy::builder().max_attempts(5).build();
    let times = starts();
    let error = retry
        .call(flaky(9, FailureKind::InvalidRequest.into(), times.clone()))
        .await
        .unwrap_err();
    assert_eq!(error.failure().kind, FailureKind::InvalidRequest);
    assert_eq!(times.lock().unwrap().len(), 1);
    assert_eq!(retry.stats().not_retryable, 1);
}

#[tokio::test(start_paused = true)]
async fn exhaustion_returns_the_last_error_and_emits_events() {
    let events = Events::new();
    let mut received = events.subscribe();
    let retry = RetryPolicy::builder()
        .name("chat")
        .max_attempts(2)
        .backoff(Backoff::constant(50 * MS))
        .events(events)
        .build();
    let error = retry
        .call(flaky(9, Failure::timeout(), starts()))
        .await
        .unwrap_err();
    assert_eq!(error.failure(), Failure::timeout());
    assert_eq!(
        received.recv().await.unwrap(),
        Event::RetryScheduled {
            name: "chat".into(),
            attempt: 1,
            delay: 50 * MS,
            failure: Failure::timeout()
        }
    );
    assert_eq!(
        received.recv().await.unwrap(),
        Event::RetriesExhausted {
            name: "chat".into(),
            attempts: 2,
            failure: Failure::timeout()
        }
    );
    assert_eq!(retry.stats().exhausted, 1);
}

#[tokio::test(start_paused = true)]
async fn predicate_by_kinds_and_by_closure() {
    let only_timeouts = RetryPolicy::builder()
        .retry_on([FailureKind::Timeout])
        .backoff(Backoff::none())
        .build();
    assert!(
        only_timeouts
            .call(flaky(1, Failure::transient(), starts()))
            .await
            .is_err()
    );
    assert_eq!(
        only_timeouts
            .call(flaky(1, Failure::timeout(), starts()))
            .await
            .unwrap(),
        2
    );

    let fatal_too = RetryPolicy::builder()
        .retry_if(|failure| failure.kind == FailureKind::Fatal)
        .backoff(Backoff::none())
        .build();
    assert_eq!(
        fatal_too
            .call(flaky(2, FailureKind::Fatal.into(), starts()))
            .await
            .unwrap(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn ok_judged_a_failure_is_returned_as_ok_when_attempts_run_out() {
    let retry = RetryPolicy::builder()
        .max_attempts(3)
        .backoff(Backoff::none())
        .build();
    let attempts = AtomicU32::new(0);
    let empty_is_bad = |result: &Result<&str, std::io::Error>| match result {
        Ok("") => Outcome::from(FailureKind::Transient),
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::from(FailureKind::Transient),
    };
    let answer = retry
        .call_classified(&empty_is_bad, || {
            attempts.fetch_add(1, Ordering::SeqCst);
            async { Ok("") }
        })
        .await;
    assert_eq!(answer.unwrap(), "");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(retry.stats().exhausted, 1);
}

#[tokio::test(start_paused = true)]
async fn budget_stops_retries_and_says_so() {
    let events = Events::new();
    let mut received = events.subscribe();
    // One retry allowed per window, whatever the deposits.
    let budget = Budget::new(0.0, 0.1, Duration::from_secs(10));
    let retry = RetryPolicy::builder()
        .name("chat")
        .max_attempts(5)
        .backoff(Backoff::none())
        .budget(budget.clone())
        .events(events)
        .build();
    let times = starts();
    assert!(
        retry
            .call(flaky(9, Failure::transient(), times.clone()))
            .await
            .is_err()
    );
    assert_eq!(times.lock().unwrap().len(), 2);
    assert!(matches!(
        received.recv().await.unwrap(),
        Event::RetryScheduled { attempt: 1, .. }
    ));
    assert_eq!(
        received.recv().await.unwrap(),
        Event::RetryBudgetExhausted {
            name: "chat".into()
        }
    );
    assert_eq!(retry.stats().budget_exhausted, 1);
    assert_eq!(budget.snapshot().deposits, 1);
    assert_eq!(budget.snapshot().withdrawals, 1);
}

#[tokio::test(start_paused = true)]
async fn open_breaker_is_retried_after_its_remaining_open_time() {
    let retry = RetryPolicy::builder()
        .backoff(Backoff::constant(10 * MS))
        .max_retry_after(Duration::from_secs(5))
        .build();
    let origin = Instant::now();
    let mut attempt = 0;
    let answer = retry
        .call(|| {
            attempt += 1;
            let first = attempt == 1;
            async move {
                if first {
                    Err(Error::from(BreakerOpen {
                        name: "gpt".into(),
                        retry_after: Some(Duration::from_secs(3)),
                    }))
                } else {
                    Ok(origin.elapsed())
                }
            }
        })
        .await;
    assert_eq!(answer.unwrap(), Duration::from_secs(3));

    // Longer than max_retry_after: give up at once, so fallback moves on.
    let error = retry
        .call(|| async {
            Err::<(), _>(Error::from(BreakerOpen {
                name: "gpt".into(),
                retry_after: Some(Duration::from_secs(30)),
            }))
        })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::BreakerOpen(_)));
}

/// The README's composition, `retry.call(|| breaker.call(..))`, with the
/// breaker open for 30 s: by default the retry gives up at once rather than
/// holding the caller for the breaker's open time.
#[tokio::test(start_paused = true)]
async fn by_default_an_open_breaker_is_not_waited_out() {
    let breaker = Breaker::builder("gpt")
        .open_for(Duration::from_secs(30))
        .build();
    breaker.trip();
    let retry = RetryPolicy::builder()
        .max_attempts(3)
        .backoff(Backoff::exponential(100 * MS, Duration::from_secs(5)))
        .build();
    let origin = Instant::now();
    let error = retry
        .call(|| breaker.call(|| async { Ok::<_, std::io::Error>("answer") }))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::BreakerOpen(_)), "{error}");
    assert_eq!(origin.elapsed(), Duration::ZERO);
    assert_eq!(retry.stats().retry_after_too_long, 1);
}

#[tokio::test(start_paused = true)]
async fn batch_keeps_order_and_bounds_concurrency() {
    let retry = RetryPolicy::builder()
        .backoff(Backoff::constant(10 * MS))
        .build();
    let in_flight = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let ops = (0..10u64).map(|i| {
        let in_flight = in_flight.clone();
        let peak = peak.clone();
        let mut tries = 0;
        move || {
            tries += 1;
            let failed_once = tries > 1;
            let in_flight = in_flight.clone();
            let peak = peak.clone();
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100 - i * 10)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                if i % 2 == 0 && !failed_once {
                    Err(std::io::Error::other("first try fails"))
                } else {
                    Ok(i)
                }
            }
        }
    });
    let results = retry.call_all(ops, 3).await;
    let values: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(values, (0..10).collect::<Vec<_>>());
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(retry.stats().retries, 5);
}

#[tokio::test(start_paused = true)]
async fn tower_service_retries_with_clones() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let inner = tower::service_fn(move |request: u32| {
        let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if attempt < 3 {
                Err(Error::call("busy", FailureKind::Overloaded.into()))
            } else {
                Ok(request * 2)
            }
        }
    });
    let policy = RetryPolicy::builder()
        .backoff(Backoff::constant(MS))
        .build();
    let mut service = RetryService::new(inner, policy.clone());
    let answer = service.ready().await.unwrap().call(21).await;
    assert_eq!(answer.unwrap(), 42);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(policy.stats().attempts, 3);
}

fn kinds() -> impl Strategy<Value = BackoffKind> {
    prop_oneof![
        Just(BackoffKind::Constant),
        Just(BackoffKind::Linear),
        (0.0f64..20.0).prop_map(|multiplier| BackoffKind::Exponential { multiplier }),
    ]
}

fn jitters() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated),
    ]
}

fn durations() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..100_000_000_000).prop_map(Duration::from_nanos),
        any::<u64>().prop_map(Duration::from_secs),
        Just(Duration::MAX),
        Just(Duration::ZERO),
    ]
}

proptest! {
    #[test]
    fn delays_stay_within_bounds(
        kind in kinds(),
        jitter in jitters(),
        initial in durations(),
        max in durations(),
        previous in durations(),
        attempt in any::<u32>(),
        seed in any::<u64>(),
    ) {
        let backoff = Backoff { kind, initial, max, jitter };
        let rng = Rng::with_seed(seed);
        let delay = backoff.delay(attempt, previous, &rng);
        let base = backoff.base(attempt);
        prop_assert!(delay <= max);
        prop_assert!(base <= max);
        match jitter {
            Jitter::None => prop_assert_eq!(delay, base),
            Jitter::Full => prop_assert!(delay <= base),
            Jitter::Equal => prop_assert!(delay >= base / 2 && delay <= base),
            Jitter::Decorrelated => {
                prop_assert!(delay >= initial.min(max));
                prop_assert!(delay <= previous.max(initial).saturating_mul(3));
            }
        }
    }

    #[test]
    fn base_delay_never_shrinks(
        kind in kinds(),
        initial in durations(),
        max in durations(),
        attempt in 1u32..u32::MAX,
    ) {
        let backoff = Backoff { kind, initial, max, jitter: Jitter::None };
        prop_assert!(backoff.base(attempt + 1) >= backoff.base(attempt));
    }
}
