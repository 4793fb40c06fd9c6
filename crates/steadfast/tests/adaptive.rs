//! Public behaviour of the adaptive concurrency limit: through its tower
//! layer, against a simulated provider that serves a fixed number of calls
//! at once and refuses the rest, on a paused clock.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use steadfast::adaptive::AdaptiveLimit;
use steadfast::classify::AsFailure;
use steadfast::events::{Event, Events};
use steadfast::{Error, Failure, FailureKind};
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt, service_fn};

/// The provider's refusal past its capacity (a 529 "overloaded").
#[derive(Debug, thiserror::Error)]
#[error("overloaded")]
struct Overloaded;

impl AsFailure for Overloaded {
    fn as_failure(&self) -> Failure {
        Failure::new(FailureKind::Overloaded)
    }
}

/// Serves `capacity` calls at once in 250 ms each; refuses more at once.
fn provider(
    capacity: usize,
) -> impl Service<(), Response = (), Error = Overloaded, Future: Send> + Clone + Send {
    let in_flight = Arc::new(AtomicUsize::new(0));
    service_fn(move |()| {
        let in_flight = Arc::clone(&in_flight);
        async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            let answer = if now > capacity {
                Err(Overloaded)
            } else {
                tokio::time::sleep(Duration::from_millis(250)).await;
                Ok(())
            };
            in_flight.fetch_sub(1, Ordering::SeqCst);
            answer
        }
    })
}

/// Sends 64 clients' calls in a loop for `seconds`, through `limit`;
/// returns the limits seen each 100 ms of the last 10 s and the calls
/// served.
async fn load(limit: &AdaptiveLimit, capacity: usize, seconds: u64) -> (Vec<usize>, usize) {
    let service = limit.layer().layer(provider(capacity));
    let served = Arc::new(AtomicUsize::new(0));
    let end = Instant::now() + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..64)
        .map(|_| {
            let mut service = service.clone();
            let served = Arc::clone(&served);
            tokio::spawn(async move {
                while Instant::now() < end {
                    match service.ready().await.unwrap().call(()).await {
                        Ok(()) => {
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                        // Refused by the limit or the provider: a short pause.
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if end - Instant::now() < Duration::from_secs(10) {
            seen.push(limit.limit());
        }
    }
    for client in clients {
        client.await.unwrap();
    }
    (seen, served.load(Ordering::Relaxed))
}

fn assert_near(seen: &[usize], capacity: usize, from: usize) {
    let low = *seen.iter().min().unwrap();
    let high = *seen.iter().max().unwrap();
    assert!(
        low as f64 >= capacity as f64 * 0.7 && high <= capacity + 2,
        "from {from}, a capacity of {capacity}: limits {low}..={high} in the last 10 s"
    );
}

#[tokio::test(start_paused = true)]
async fn the_limit_converges_near_the_capacity_from_below() {
    let limit = AdaptiveLimit::builder().initial(1).max(200).build();
    let (seen, served) = load(&limit, 16, 60).await;
    assert_near(&seen, 16, 1);
    // 16 at once for 250 ms is 64 calls a second at most.
    assert!(served as f64 >= 0.8 * 64.0 * 60.0, "served {served}");
}

#[tokio::test(start_paused = true)]
async fn the_limit_converges_near_the_capacity_from_above() {
    let limit = AdaptiveLimit::builder().initial(60).build();
    let (seen, _) = load(&limit, 10, 40).await;
    assert_near(&seen, 10, 60);
}

#[tokio::test(start_paused = true)]
async fn the_limit_follows_a_capacity_that_changes() {
    let limit = AdaptiveLimit::builder().initial(4).build();
    let (seen, _) = load(&limit, 24, 40).await;
    assert_near(&seen, 24, 4);
    let (seen, _) = load(&limit, 6, 40).await;
    assert_near(&seen, 6, 24);
}

#[tokio::test(start_paused = true)]
async fn the_max_bounds_the_limit_and_changes_are_published() {
    let events = Events::new();
    let mut receiver = events.subscribe();
    let limit = AdaptiveLimit::builder()
        .initial(2)
        .max(5)
        // Clients wait their turn: no rejection events crowd the bus.
        .max_queue(64)
        .name("gpt")
        .events(events)
        .build();
    let (seen, _) = load(&limit, 50, 15).await;
    assert!(seen.iter().all(|&limit| limit == 5), "{seen:?}");
    let mut changes = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        if let Event::LimitChanged { name, from, to } = event {
            assert_eq!(&*name, "gpt");
            changes.push((from, to));
        }
    }
    assert_eq!(changes, [(2, 3), (3, 4), (4, 5)]);
}

#[tokio::test(start_paused = true)]
async fn a_full_limit_refuses_with_a_typed_local_rejection() {
    let limit = AdaptiveLimit::builder().initial(1).name("gpt").build();
    let mut service = limit.layer().layer(provider(10));
    let held = limit.try_acquire().unwrap();
    let refused = service.ready().await.unwrap().call(()).await.unwrap_err();
    assert!(matches!(&refused, Error::LimitReached(reached) if reached.limit == 1));
    assert!(refused.is_local_rejection());
    assert_eq!(refused.failure().kind, FailureKind::Overloaded);
    drop(held);
    service.ready().await.unwrap().call(()).await.unwrap();
    assert_eq!(limit.stats().rejected, 1);
}
