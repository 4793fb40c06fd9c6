//! Adaptive concurrency: a model's limit is learned from its answers and
//! settles near what the provider serves at once, from below and from above;
//! a shedding route's capacity is the sum of the learned limits; the limit
//! is shown on `/api/status` and `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use steadfast_mock::Faults;
use tokio::time::Instant;

use crate::support::observe::{renamed, scrape, value};
use crate::support::{Harness, mocks};

/// What the simulated provider serves at once.
const CAPACITY: usize = 6;

/// A provider serving [`CAPACITY`] requests at once in 100 ms each, and a
/// shedding route over one model whose limit starts at `initial`.
async fn gateway(initial: usize) -> Harness {
    let mocks = mocks(&["capped"]).await;
    mocks[0].control().set(Faults {
        latency_ms: 100,
        capacity: CAPACITY,
        ..Faults::default()
    });
    let model = format!("adaptive_concurrency: {{ initial: {initial} }}\nmax_concurrency: 64");
    // The metrics recorder is global to the test process: the model is named apart.
    let yaml = renamed(
        &mocks,
        &model,
        "shedding: {}",
        "chat",
        &format!("learned{initial}x"),
    );
    Harness::with_config(mocks, &yaml).await
}

/// 16 clients sending requests in a loop for `seconds`.
async fn load(h: &Arc<Harness>, seconds: u64) {
    let end = Instant::now() + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let h = Arc::clone(h);
            tokio::spawn(async move {
                while Instant::now() < end {
                    // Refusals are part of the lesson; the limit is judged below.
                    let _ = h.chat("load").await.bytes().await;
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
}

fn learned(status: &Value) -> (u64, u64) {
    let target = &status["targets"][0];
    assert_eq!(target["concurrency"]["adaptive"], true, "{status}");
    (
        target["concurrency"]["limit"].as_u64().unwrap(),
        status["routes"][0]["shedding"]["capacity_now"]
            .as_u64()
            .unwrap(),
    )
}

#[tokio::test]
async fn the_learned_limit_settles_near_the_providers_capacity_from_below_and_above() {
    let _serial = crate::support::TIMED_RUNS.lock().await;
    for initial in [1, 40] {
        let h = Arc::new(gateway(initial).await);
        assert_eq!(learned(&h.status().await), (initial as u64, initial as u64));
        load(&h, 5).await;
        let status = h.status().await;
        let (limit, capacity_now) = learned(&status);
        assert!(
            (CAPACITY as u64 - 2..=CAPACITY as u64 + 2).contains(&limit),
            "from {initial}: learned {limit} for a capacity of {CAPACITY}: {status}"
        );
        assert_eq!(
            capacity_now, limit,
            "the route's capacity follows the limit"
        );
        assert_eq!(status["targets"][0]["breaker"], "closed", "{status}");
        let model = format!("learned{initial}x0");
        let metrics = scrape(&h).await;
        let gauge = value(
            &metrics,
            "steadfast_target_concurrency_limit",
            &[("target", &model)],
        );
        assert_eq!(gauge, Some(limit as f64), "{metrics}");
    }
}
