//! Public behaviour of the hedging policy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use steadfast::Error;
use steadfast::budget::Budget;
use steadfast::events::{Event, Events};
use steadfast::hedge::{HedgeDelay, HedgePolicy, HedgeService, HedgeStats};
use tokio::time::Instant;
use tower::{Service, ServiceExt};

const MS: Duration = Duration::from_millis(1);

fn fixed(delay: Duration) -> HedgePolicy {
    HedgePolicy::builder()
        .delay(HedgeDelay::Fixed(delay))
        .build()
}

/// Sets its flag when dropped, to see that a losing attempt was cancelled.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn hedge_fires_exactly_at_the_delay() {
    let events = Events::new();
    let mut received = events.subscribe();
    let hedge = HedgePolicy::builder()
        .name("chat")
        .delay(HedgeDelay::Fixed(100 * MS))
        .events(events)
        .build();
    let origin = Instant::now();
    let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let answer = hedge
        .call(|attempt| {
            starts.lock().unwrap().push((attempt, origin.elapsed()));
            async move {
                tokio::time::sleep(if attempt == 1 { 500 * MS } else { 50 * MS }).await;
                Ok::<_, Error>(attempt)
            }
        })
        .await;
    assert_eq!(answer.unwrap(), 2);
    assert_eq!(
        *starts.lock().unwrap(),
        [(1, Duration::ZERO), (2, 100 * MS)]
    );
    assert_eq!(origin.elapsed(), 150 * MS);
    assert_eq!(
        received.recv().await.unwrap(),
        Event::HedgeStarted {
            name: "chat".into(),
            attempt: 2,
            after: 100 * MS
        }
    );
    assert_eq!(
        hedge.stats(),
        HedgeStats {
            calls: 1,
            hedges: 1,
            hedge_wins: 1
        }
    );
}

#[tokio::test(start_paused = true)]
async fn no_hedge_when_the_first_answers_in_time() {
    let hedge = fixed(100 * MS);
    let attempts = AtomicU32::new(0);
    let answer = hedge
        .call(|attempt| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(99 * MS).await;
                Ok::<_, Error>(attempt)
            }
        })
        .await;
    assert_eq!(answer.unwrap(), 1);
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(
        hedge.stats(),
        HedgeStats {
            calls: 1,
            hedges: 0,
            hedge_wins: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn loser_is_dropped_when_a_winner_is_found() {
    let hedge = fixed(10 * MS);
    let dropped = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let answer = hedge
        .call(|attempt| {
            let guard = (attempt == 1).then(|| DropFlag(dropped.clone()));
            let finished = finished.clone();
            async move {
                if let Some(_guard) = guard {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    finished.store(true, Ordering::SeqCst);
                }
                Ok::<_, Error>(attempt)
            }
        })
        .await;
    assert_eq!(answer.unwrap(), 2);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the slow attempt was not dropped"
    );
    assert!(!finished.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn failure_waits_for_other_attempts_and_all_failing_returns_the_last() {
    let hedge = HedgePolicy::builder()
        .delay(HedgeDelay::Fixed(10 * MS))
        .max_hedges(2)
        .build();
    // Attempt 1 fails late; attempt 2 succeeds later still: the failure does not end the call.
    let answer = hedge
        .call(|attempt| async move {
            match attempt {
                1 => {
                    tokio::time::sleep(20 * MS).await;
                    Err(Error::call("first", steadfast::Failure::transient()))
                }
                _ => {
                    tokio::time::sleep(30 * MS).await;
                    Ok(attempt)
                }
            }
        })
        .await;
    assert_eq!(answer.unwrap(), 2);

    let origin = Instant::now();
    let error = hedge
        .call(|attempt| async move {
            tokio::time::sleep(100 * MS).await;
            Err::<(), _>(std::io::Error::other(format!("attempt {attempt}")))
        })
        .await
        .unwrap_err();
    // Attempts started at 0, 10 and 20 ms; the third fails last.
    assert_eq!(error.call_error().unwrap().to_string(), "attempt 3");
    assert_eq!(origin.elapsed(), 120 * MS);
}

#[tokio::test(start_paused = true)]
async fn budget_caps_hedges_to_the_ratio() {
    let hedge = HedgePolicy::builder()
        .delay(HedgeDelay::Fixed(10 * MS))
        .budget(Budget::new(0.1, 0.0, Duration::from_secs(3600)))
        .build();
    for _ in 0..50 {
        let answer = hedge
            .call(|attempt| async move {
                tokio::time::sleep(if attempt == 1 { 50 * MS } else { MS }).await;
                Ok::<_, Error>(attempt)
            })
            .await;
        assert!(answer.is_ok());
    }
    assert_eq!(
        hedge.stats(),
        HedgeStats {
            calls: 50,
            hedges: 5,
            hedge_wins: 5
        }
    );
}

#[tokio::test(start_paused = true)]
async fn percentile_delay_uses_recorded_latencies() {
    let hedge = HedgePolicy::builder()
        .delay(HedgeDelay::Percentile {
            q: 0.9,
            fallback: 500 * MS,
        })
        .min_samples(10)
        .build();
    assert_eq!(hedge.current_delay(), 500 * MS);
    for _ in 0..20 {
        let answer = hedge
            .call(|_| async {
                tokio::time::sleep(40 * MS).await;
                Ok::<_, Error>(())
            })
            .await;
        assert!(answer.is_ok());
    }
    assert_eq!(hedge.stats().hedges, 0);
    let delay = hedge.current_delay();
    assert!(delay > 38 * MS && delay < 42 * MS, "{delay:?}");

    let origin = Instant::now();
    let hedged_at = Arc::new(std::sync::Mutex::new(None));
    let answer = hedge
        .call(|attempt| {
            if attempt == 2 {
                *hedged_at.lock().unwrap() = Some(origin.elapsed());
            }
            async move {
                tokio::time::sleep(if attempt == 1 {
                    Duration::from_secs(5)
                } else {
                    40 * MS
                })
                .await;
                Ok::<_, Error>(attempt)
            }
        })
        .await;
    assert_eq!(answer.unwrap(), 2);
    // tokio's timer wheel fires on whole milliseconds.
    let fired = Duration::from_millis(delay.as_micros().div_ceil(1000) as u64);
    assert_eq!(*hedged_at.lock().unwrap(), Some(fired));
}

#[tokio::test(start_paused = true)]
async fn tower_service_hedges_with_clones() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let inner = tower::service_fn(move |request: u32| {
        let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            tokio::time::sleep(if attempt == 1 {
                Duration::from_secs(10)
            } else {
                5 * MS
            })
            .await;
            Ok::<_, Error>((request, attempt))
        }
    });
    let policy = fixed(20 * MS);
    let mut service = HedgeService::new(inner, policy.clone());
    let origin = Instant::now();
    let answer = service.ready().await.unwrap().call(7).await;
    assert_eq!(answer.unwrap(), (7, 2));
    assert_eq!(origin.elapsed(), 25 * MS);
    assert_eq!(policy.stats().hedge_wins, 1);
}
