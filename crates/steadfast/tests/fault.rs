//! Public behaviour of the fault injector.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use steadfast::events::{Event, Events};
use steadfast::fault::{FaultConfig, FaultPolicy, FaultStats, InjectedKind};
use steadfast::timeout::Timeout;
use steadfast::{Error, FailureKind};
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt};

const MS: Duration = Duration::from_millis(1);

fn failing(seed: u64) -> FaultConfig {
    FaultConfig {
        error_rate: 0.3,
        rate_limit_rate: 0.2,
        retry_after: Some(MS * 500),
        seed: Some(seed),
        ..FaultConfig::default()
    }
}

/// The kind of failure each of `n` injections decided, `None` for none.
async fn decisions(injector: &FaultPolicy, n: usize) -> Vec<Option<FailureKind>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(injector.inject().await.err().map(|f| f.failure.kind));
    }
    out
}

#[tokio::test(start_paused = true)]
async fn same_seed_same_decisions() {
    let a = decisions(&FaultPolicy::new(failing(7)), 500).await;
    let b = decisions(&FaultPolicy::new(failing(7)), 500).await;
    let c = decisions(&FaultPolicy::new(failing(8)), 500).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.contains(&Some(FailureKind::RateLimited)));
    assert!(a.contains(&Some(FailureKind::Transient)));
    assert!(a.contains(&None));
}

#[tokio::test(start_paused = true)]
async fn rates_hold_over_ten_thousand_draws() {
    let injector = FaultPolicy::new(FaultConfig {
        latency: Some((0.5, MS * 10)),
        error_rate: 0.1,
        timeout_rate: 0.05,
        rate_limit_rate: 0.2,
        seed: Some(1234),
        ..FaultConfig::default()
    });
    let mut hung = 0;
    for _ in 0..10_000 {
        if tokio::time::timeout(MS * 100, injector.inject())
            .await
            .is_err()
        {
            hung += 1;
        }
    }
    let stats = injector.stats();
    assert_eq!(stats.timeouts, hung);
    // Each within 4 standard deviations of its expectation.
    let within = |count: u64, p: f64| {
        let expected = 10_000.0 * p;
        let sigma = (10_000.0 * p * (1.0 - p)).sqrt();
        (count as f64 - expected).abs() < 4.0 * sigma
    };
    assert!(within(stats.latency, 0.5), "{stats:?}");
    assert!(within(stats.errors, 0.1), "{stats:?}");
    assert!(within(stats.timeouts, 0.05), "{stats:?}");
    assert!(within(stats.rate_limits, 0.2), "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn latency_is_injected_exactly() {
    let injector = FaultPolicy::new(FaultConfig {
        latency: Some((1.0, MS * 250)),
        seed: Some(1),
        ..FaultConfig::default()
    });
    let start = Instant::now();
    let answer = injector.call(|| async { Ok::<_, std::io::Error>(5) }).await;
    assert_eq!(answer.ok(), Some(5));
    assert_eq!(start.elapsed(), MS * 250);
    assert_eq!(injector.stats().latency, 1);
}

#[tokio::test(start_paused = true)]
async fn hang_is_cancelled_by_a_surrounding_timeout() {
    let injector = FaultPolicy::new(FaultConfig {
        timeout_rate: 1.0,
        seed: Some(1),
        ..FaultConfig::default()
    });
    let ran = Arc::new(AtomicU32::new(0));
    let start = Instant::now();
    let result = Timeout::new(MS * 1500)
        .call(|| {
            injector.call(|| async {
                ran.fetch_add(1, Ordering::Relaxed);
                Ok::<_, std::io::Error>(())
            })
        })
        .await;
    assert!(matches!(result, Err(Error::Timeout(_))), "{result:?}");
    assert_eq!(start.elapsed(), MS * 1500);
    assert_eq!(ran.load(Ordering::Relaxed), 0);
    assert_eq!(injector.stats().timeouts, 1);
}

#[tokio::test(start_paused = true)]
async fn injected_failures_carry_kind_and_retry_after() {
    let events = Events::new();
    let mut receiver = events.subscribe();
    let injector = FaultPolicy::builder(FaultConfig {
        error_rate: 1.0,
        error_kind: FailureKind::Overloaded,
        seed: Some(3),
        ..FaultConfig::default()
    })
    .name("chaos")
    .events(events)
    .build();
    let error = injector
        .call(|| async { Ok::<_, std::io::Error>(()) })
        .await
        .expect_err("injected");
    assert!(matches!(error, Error::Injected(_)));
    assert_eq!(error.failure().kind, FailureKind::Overloaded);
    assert_eq!(
        receiver.try_recv().ok(),
        Some(Event::FaultInjected {
            name: "chaos".into(),
            fault: InjectedKind::Error
        })
    );

    injector.set_config(&FaultConfig {
        rate_limit_rate: 1.0,
        retry_after: Some(Duration::from_secs(2)),
        ..FaultConfig::default()
    });
    let limited = injector.inject().await.expect_err("rate limited");
    assert_eq!(limited.failure.kind, FailureKind::RateLimited);
    assert_eq!(limited.failure.retry_after, Some(Duration::from_secs(2)));
    assert_eq!(
        injector.stats(),
        FaultStats {
            errors: 1,
            rate_limits: 1,
            ..FaultStats::default()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn off_does_nothing_and_draws_nothing() {
    let off = FaultPolicy::off();
    assert!(!off.is_active());
    for _ in 0..100 {
        // Ready on the first poll: no await point.
        assert_eq!(off.inject().now_or_never(), Some(Ok(())));
    }
    assert_eq!(off.stats(), FaultStats::default());

    // An injector switched off and on again continues the seeded sequence
    // exactly where it was: nothing was drawn while it was off.
    let toggled = FaultPolicy::new(failing(11));
    let reference = FaultPolicy::new(failing(11));
    let mut first = decisions(&toggled, 50).await;
    toggled.set_config(&FaultConfig::default());
    assert_eq!(decisions(&toggled, 100).await, vec![None; 100]);
    toggled.set_config(&failing(11));
    first.extend(decisions(&toggled, 50).await);
    assert_eq!(first, decisions(&reference, 100).await);
}

#[tokio::test(start_paused = true)]
async fn layer_stops_injected_requests_before_the_inner_service() {
    let (service, mut handle) = tower_test::mock::pair::<u32, u32>();
    let injector = FaultPolicy::off();
    let mut service = injector.layer().layer(service);
    handle.allow(10);

    let call = tokio::spawn(service.ready().await.expect("ready").call(1));
    let (request, respond) = handle.next_request().await.expect("request");
    assert_eq!(request, 1);
    respond.send_response(10);
    assert_eq!(call.await.expect("joined").ok(), Some(10));

    injector.set_config(&FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    });
    let refused = service.ready().await.expect("ready").call(2).await;
    assert!(matches!(refused, Err(Error::Injected(_))));
    assert!(handle.poll_request().is_pending());
}
