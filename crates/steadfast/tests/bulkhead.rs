//! Public behaviour of the bulkhead.

use std::time::Duration;

use steadfast::Error;
use steadfast::bulkhead::{Bulkhead, BulkheadRejection, BulkheadStats};
use steadfast::events::{Event, Events, Rejection};
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep};
use tower::{Service, ServiceExt};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn try_acquire_admits_up_to_the_limit() {
    let events = Events::new();
    let mut receiver = events.subscribe();
    let bulkhead = Bulkhead::builder(2).name("gpt").events(events).build();
    let first = bulkhead.try_acquire().expect("slot 1");
    let _second = bulkhead.try_acquire().expect("slot 2");
    assert_eq!(bulkhead.in_flight(), 2);
    let full = bulkhead.try_acquire().expect_err("no slot");
    assert_eq!(full.reason, BulkheadRejection::QueueFull);
    assert_eq!(full.max_concurrent, 2);
    assert_eq!(
        receiver.try_recv().ok(),
        Some(Event::Rejected {
            name: "gpt".into(),
            by: Rejection::BulkheadFull
        })
    );
    drop(first);
    assert_eq!(bulkhead.in_flight(), 1);
    assert!(bulkhead.try_acquire().is_ok());
    assert_eq!(
        bulkhead.stats(),
        BulkheadStats {
            admitted: 3,
            rejected_full: 1,
            rejected_timeout: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn no_queue_means_immediate_refusal() {
    let bulkhead = Bulkhead::builder(1).build();
    let _held = bulkhead.try_acquire().expect("slot");
    let start = Instant::now();
    let refused = bulkhead.acquire().await.expect_err("full");
    assert_eq!(refused.reason, BulkheadRejection::QueueFull);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn queue_is_bounded_and_times_out() {
    let bulkhead = Bulkhead::builder(1)
        .max_queue(2)
        .queue_timeout(SECOND)
        .build();
    let _held = bulkhead.try_acquire().expect("slot");
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let bulkhead = bulkhead.clone();
            tokio::spawn(async move { bulkhead.acquire().await.map(drop) })
        })
        .collect();
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.queued(), 2);
    let refused = bulkhead.acquire().await.expect_err("queue full");
    assert_eq!(refused.reason, BulkheadRejection::QueueFull);

    let start = Instant::now();
    for waiter in waiters {
        let refused = waiter.await.expect("joined").expect_err("timed out");
        assert_eq!(refused.reason, BulkheadRejection::QueueTimeout);
    }
    assert_eq!(start.elapsed(), SECOND);
    assert_eq!(bulkhead.queued(), 0);
    assert_eq!(
        bulkhead.stats(),
        BulkheadStats {
            admitted: 1,
            rejected_full: 1,
            rejected_timeout: 2
        }
    );
}

#[tokio::test(start_paused = true)]
async fn waiters_are_admitted_in_arrival_order() {
    let bulkhead = Bulkhead::builder(1).max_queue(10).build();
    let held = bulkhead.try_acquire().expect("slot");
    let (order_tx, mut order_rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..5 {
        let bulkhead = bulkhead.clone();
        let order_tx = order_tx.clone();
        tokio::spawn(async move {
            bulkhead
                .call(|| async {
                    order_tx.send(i).expect("receiver alive");
                    sleep(SECOND).await;
                    Ok::<_, std::io::Error>(())
                })
                .await
        });
        tokio::task::yield_now().await;
    }
    assert_eq!(bulkhead.queued(), 5);
    drop(held);
    drop(order_tx);
    let mut order = Vec::new();
    while let Some(i) = order_rx.recv().await {
        order.push(i);
    }
    assert_eq!(order, [0, 1, 2, 3, 4]);
}

#[tokio::test(start_paused = true)]
async fn cancelled_waiters_leave_the_queue() {
    let bulkhead = Bulkhead::builder(1).max_queue(1).build();
    let held = bulkhead.try_acquire().expect("slot");
    let waiting = tokio::spawn({
        let bulkhead = bulkhead.clone();
        async move { bulkhead.acquire().await.map(drop) }
    });
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.queued(), 1);
    waiting.abort();
    assert!(waiting.await.is_err());
    assert_eq!(bulkhead.queued(), 0);

    // The freed place is usable again, and the cancelled waiter took no slot.
    let bulkhead2 = bulkhead.clone();
    let next = tokio::spawn(async move { bulkhead2.acquire().await.map(drop) });
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.queued(), 1);
    drop(held);
    assert!(next.await.expect("joined").is_ok());
    assert_eq!(bulkhead.in_flight(), 0);
    assert_eq!(bulkhead.stats().admitted, 2);
}

#[tokio::test(start_paused = true)]
async fn call_holds_the_slot_for_the_whole_call() {
    let bulkhead = Bulkhead::builder(1).build();
    let (release, released) = oneshot::channel::<()>();
    let running = tokio::spawn({
        let bulkhead = bulkhead.clone();
        async move {
            bulkhead
                .call(|| async move { released.await.map_err(std::io::Error::other) })
                .await
        }
    });
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.in_flight(), 1);
    let refused = bulkhead
        .call(|| async { Ok::<_, std::io::Error>(()) })
        .await
        .expect_err("full");
    assert!(matches!(refused, Error::BulkheadFull(_)));
    assert!(refused.is_local_rejection());
    release.send(()).expect("running");
    assert!(running.await.expect("joined").is_ok());
    assert_eq!(bulkhead.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn layer_queues_in_the_response_future_with_the_timeout() {
    let (service, mut handle) = tower_test::mock::pair::<u32, u32>();
    let bulkhead = Bulkhead::builder(1)
        .max_queue(1)
        .queue_timeout(SECOND)
        .build();
    let mut service = tower::Layer::layer(&bulkhead.layer(), service);
    handle.allow(10);

    let first = service.ready().await.expect("ready").call(1);
    let first = tokio::spawn(first);
    let (request, respond_first) = handle.next_request().await.expect("request 1");
    assert_eq!(request, 1);
    assert_eq!(bulkhead.in_flight(), 1);

    // Ready at once although the bulkhead is full; the wait is in the future.
    let second = tokio::spawn(service.ready().await.expect("ready").call(2));
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.queued(), 1);
    let third = service.ready().await.expect("ready").call(3).await;
    assert!(matches!(
        third,
        Err(Error::BulkheadFull(ref full)) if full.reason == BulkheadRejection::QueueFull
    ));

    let start = Instant::now();
    let second = second.await.expect("joined");
    assert_eq!(start.elapsed(), SECOND);
    assert!(matches!(
        second,
        Err(Error::BulkheadFull(ref full)) if full.reason == BulkheadRejection::QueueTimeout
    ));

    respond_first.send_response(10);
    assert_eq!(first.await.expect("joined").ok(), Some(10));
    assert_eq!(bulkhead.in_flight(), 0);
}
