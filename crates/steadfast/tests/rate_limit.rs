//! Public behaviour of the rate limiters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use steadfast::Error;
use steadfast::events::{Event, Events, Rejection};
use steadfast::rate_limit::{Quota, RateLimit, RateLimiter};
use tokio::time::{Instant, advance};
use tower::{Service, ServiceExt};

const MS: Duration = Duration::from_millis(1);

fn admitted(limiter: &RateLimiter, tries: u64) -> u64 {
    (0..tries)
        .filter(|_| limiter.try_acquire(1).is_ok())
        .count() as u64
}

#[tokio::test(start_paused = true)]
async fn admits_exactly_the_quota_over_intervals() {
    let limiter = RateLimiter::new("t", Quota::per_second(10));
    assert_eq!(admitted(&limiter, 100), 10);
    let mut total = 10;
    // Greedy callers every 10 ms for 3 s get one unit per 100 ms.
    for _ in 0..300 {
        advance(MS * 10).await;
        total += admitted(&limiter, 5);
    }
    assert_eq!(total, 40);
    advance(Duration::from_secs(5)).await;
    assert_eq!(limiter.available(), 10);
    assert_eq!(admitted(&limiter, 100), 10);
}

#[tokio::test(start_paused = true)]
async fn burst_is_separate_from_the_rate() {
    let limiter = RateLimiter::new("t", Quota::per_second(10).with_burst(2));
    assert_eq!(admitted(&limiter, 10), 2);
    advance(MS * 99).await;
    assert_eq!(admitted(&limiter, 10), 0);
    advance(MS).await;
    assert_eq!(admitted(&limiter, 10), 1);
    advance(Duration::from_secs(10)).await;
    assert_eq!(admitted(&limiter, 10), 2);
}

#[tokio::test(start_paused = true)]
async fn retry_after_says_when_n_units_fit() {
    let limiter = RateLimiter::new("gpt", Quota::per_minute(500));
    assert_eq!(admitted(&limiter, 500), 500);
    let refused = limiter.try_acquire(1).expect_err("spent");
    assert_eq!(refused.retry_after, MS * 120);
    assert_eq!(&*refused.name, "gpt");
    assert_eq!(
        limiter.try_acquire(5).expect_err("spent").retry_after,
        MS * 600
    );
    advance(MS * 600).await;
    assert!(limiter.try_acquire(5).is_ok());
    assert!(limiter.try_acquire(1).is_err());
}

#[tokio::test(start_paused = true)]
async fn more_than_the_burst_waits_for_a_full_bucket_then_goes_into_debt() {
    let limiter = RateLimiter::new("t", Quota::per_second(10));
    limiter.try_acquire(1).expect("fits");
    let refused = limiter.try_acquire(15).expect_err("bucket not full");
    assert_eq!(refused.retry_after, MS * 100);
    advance(MS * 100).await;
    limiter.try_acquire(15).expect("full bucket");
    assert_eq!(limiter.available(), 0);
    assert_eq!(
        limiter.try_acquire(1).expect_err("debt").retry_after,
        MS * 600
    );
}

#[tokio::test(start_paused = true)]
async fn charge_pushes_into_debt_and_refund_gives_back() {
    let limiter = RateLimiter::new("t", Quota::per_second(10));
    limiter.charge(25);
    assert_eq!(limiter.available(), 0);
    assert_eq!(
        limiter.try_acquire(1).expect_err("debt").retry_after,
        MS * 1600
    );
    limiter.refund(20);
    assert_eq!(limiter.available(), 5);
    limiter.refund(1_000);
    assert_eq!(limiter.available(), 10, "never rests beyond full");
    assert_eq!(admitted(&limiter, 100), 10);
}

#[tokio::test(start_paused = true)]
async fn combined_check_gives_back_the_request_when_units_refuse() {
    let events = Events::new();
    let mut receiver = events.subscribe();
    let limit = RateLimit::builder()
        .requests(Quota::per_second(5))
        .units(Quota::per_second(100))
        .name("gpt")
        .events(events)
        .build();
    limit.check(60).expect("fits");
    let refused = limit.check(60).expect_err("units spent");
    assert_eq!(refused.retry_after, MS * 200);
    assert_eq!(limit.requests().map(RateLimiter::available), Some(4));
    assert_eq!(limit.units().map(RateLimiter::available), Some(40));
    assert_eq!(
        receiver.try_recv().ok(),
        Some(Event::Rejected {
            name: "gpt".into(),
            by: Rejection::RateLimited
        })
    );
    for _ in 0..4 {
        limit.check(0).expect("requests left");
    }
    assert_eq!(
        limit.check(0).expect_err("requests spent").retry_after,
        MS * 200
    );
}

#[tokio::test(start_paused = true)]
async fn correct_settles_estimates_against_real_usage() {
    let limit = RateLimit::builder()
        .units(Quota::per_minute(200_000))
        .build();
    let units = || limit.units().map(RateLimiter::available);
    limit.check(1_000).expect("fits");
    limit.correct(1_000, 1_350);
    assert_eq!(units(), Some(198_650));
    limit.correct(1_000, 200);
    assert_eq!(units(), Some(199_450));
}

#[tokio::test(start_paused = true)]
async fn until_ready_waits_within_max_wait() {
    let limit = RateLimit::builder().requests(Quota::per_second(1)).build();
    limit.check(1).expect("first");
    let start = Instant::now();
    limit
        .until_ready(1, Duration::from_secs(2))
        .await
        .expect("waited");
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    let refused = limit
        .until_ready(1, MS * 500)
        .await
        .expect_err("would wait too long");
    assert_eq!(refused.retry_after, Duration::from_secs(1));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn call_rejects_with_the_boundary_error() {
    let limit = RateLimit::builder().requests(Quota::per_second(1)).build();
    assert_eq!(
        limit
            .call(|| async { Ok::<_, std::io::Error>(1) })
            .await
            .ok(),
        Some(1)
    );
    let refused = limit
        .call(|| async { Ok::<_, std::io::Error>(2) })
        .await
        .expect_err("spent");
    assert!(refused.is_local_rejection());
    assert_eq!(refused.failure().retry_after, Some(Duration::from_secs(1)));
}

#[test]
fn concurrent_callers_never_exceed_the_quota() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_time()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // 100 per hour: no unit is paid back while the test runs.
        let limiter = Arc::new(RateLimiter::new(
            "t",
            Quota::new(100, Duration::from_secs(3600)),
        ));
        let successes = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let limiter = limiter.clone();
                let successes = successes.clone();
                tokio::spawn(async move {
                    for _ in 0..50 {
                        if limiter.try_acquire(1).is_ok() {
                            successes.fetch_add(1, Ordering::Relaxed);
                        }
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("joined");
        }
        assert_eq!(successes.load(Ordering::Relaxed), 100);
    });
}

#[tokio::test(start_paused = true)]
async fn layer_rejects_without_calling_the_inner_service() {
    let (service, mut handle) = tower_test::mock::pair::<u32, u32>();
    let limit = RateLimit::builder().requests(Quota::per_second(2)).build();
    let mut service = tower::Layer::layer(&limit.layer(), service);
    handle.allow(10);
    for i in 0..2 {
        let call = tokio::spawn(service.ready().await.expect("ready").call(i));
        let (request, respond) = handle.next_request().await.expect("request");
        assert_eq!(request, i);
        respond.send_response(i * 10);
        assert_eq!(call.await.expect("joined").ok(), Some(i * 10));
    }
    let refused = service.ready().await.expect("ready").call(3).await;
    assert!(matches!(refused, Err(Error::RateLimited(ref e)) if e.retry_after == MS * 500));
    assert!(handle.poll_request().is_pending());
}
