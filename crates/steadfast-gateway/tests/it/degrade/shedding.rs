//! Priority admission: nothing is refused while the route has a free place;
//! when it is full, requests wait by priority, a place given back goes to
//! the highest priority waiting, and a request is refused (503 `load_shed`)
//! only past its priority's wait.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use steadfast_mock::Faults;

use crate::support::{ADMIN_TOKEN, Harness, config_with, header, mocks, settled};

const LOW: &str = "sk-low-priority-0001";
const HIGH: &str = "sk-high-priority-001";
const CRITICAL: &str = "sk-critical-priority";

/// Two providers answering in a second, 4 requests each at most, a route
/// shedding over them, and a low-, a high- and a critical-priority client.
async fn gateway(server: &str) -> Harness {
    let mocks = mocks(&["a", "b"]).await;
    for mock in &mocks {
        mock.control().set(Faults {
            latency_ms: 1000,
            ..Faults::default()
        });
    }
    let server = format!("listen: \"127.0.0.1:0\"\nadmin_token: \"{ADMIN_TOKEN}\"\n{server}");
    let shedding = "shedding: { max_wait: { low: 300ms, high: 5s, critical: 5s } }";
    let mut yaml = config_with(&mocks, &server, "max_concurrency: 4", shedding);
    yaml.push_str(&format!(
        "clients:\n  batch: {{ key: \"{LOW}\", priority: low }}\n  app: {{ key: \"{HIGH}\", priority: high }}\n  \
         pager: {{ key: \"{CRITICAL}\", priority: critical }}\n"
    ));
    Harness::with_config(mocks, &yaml).await
}

/// Waits until the route has `count` requests in flight and has shed `shed`
/// (every request sent so far has been admitted or refused).
async fn settle(h: &Harness, count: u64, shed: u64) {
    let status = settled(
        Duration::from_secs(5),
        || h.status(),
        |status: &Value| {
            let route = &status["routes"][0];
            route["shedding"]["in_flight"] == count && route["degraded"]["shed"] == shed
        },
    )
    .await;
    let route = &status["routes"][0];
    assert_eq!(
        (&route["shedding"]["in_flight"], &route["degraded"]["shed"]),
        (&json!(count), &json!(shed)),
        "{status}"
    );
}

async fn send(h: &Harness, key: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut request = h
        .client
        .post(h.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}));
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn nothing_is_shed_while_the_route_has_a_free_place() {
    let h = Arc::new(gateway("").await);
    // Both providers up: 8 places, all of them for low priority if free.
    let low: Vec<_> = (0..8)
        .map(|_| {
            let h = Arc::clone(&h);
            tokio::spawn(async move { send(&h, LOW, &[]).await })
        })
        .collect();
    settle(&h, 8, 0).await;
    for answer in low {
        assert_eq!(answer.await.unwrap().status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn with_half_the_capacity_gone_high_priority_goes_first_and_low_waits_then_is_shed() {
    let h = Arc::new(gateway("").await);
    h.admin_post("/admin/models/m1/trip").await;
    // Capacity now 4: four low requests take every place for a second.
    let spawn = |key: &'static str| {
        let h = Arc::clone(&h);
        tokio::spawn(async move { send(&h, key, &[]).await })
    };
    let first: Vec<_> = (0..4).map(|_| spawn(LOW)).collect();
    settle(&h, 4, 0).await;
    // Two more low requests wait, and a high one waits ahead of them.
    let late: Vec<_> = (0..2).map(|_| spawn(LOW)).collect();
    let high = spawn(HIGH);
    // Past their 300 ms the low ones are refused; the high one waits on.
    settle(&h, 4, 2).await;
    for answer in late {
        let answer = answer.await.unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!header(&answer, "retry-after").is_empty());
        let error: Value = answer.json().await.unwrap();
        assert_eq!(error["error"]["code"], "load_shed");
    }
    assert_eq!(
        high.await.unwrap().status(),
        StatusCode::OK,
        "the high request took the first place given back"
    );
    for answer in first {
        assert_eq!(answer.await.unwrap().status(), StatusCode::OK);
    }
    let status = h.status().await;
    assert_eq!(status["routes"][0]["degraded"]["shed"], 2, "{status}");
}

#[tokio::test]
async fn the_priority_header_counts_only_where_allowed_and_never_above_the_client() {
    let h = Arc::new(gateway("priority_header: true").await);
    h.admin_post("/admin/models/m1/trip").await;
    // Low fills the 4 places left for a second.
    let held: Vec<_> = (0..4)
        .map(|_| {
            let h = Arc::clone(&h);
            tokio::spawn(async move { send(&h, LOW, &[]).await })
        })
        .collect();
    settle(&h, 4, 0).await;
    // A high-priority client that lowers itself waits as low and is shed; a
    // low one cannot rise above its own priority.
    let lowered = send(&h, HIGH, &[("x-steadfast-priority", "low")]).await;
    assert_eq!(lowered.status(), StatusCode::SERVICE_UNAVAILABLE);
    let risen = send(&h, LOW, &[("x-steadfast-priority", "critical")]).await;
    assert_eq!(risen.status(), StatusCode::SERVICE_UNAVAILABLE);
    let error: Value = risen.json().await.unwrap();
    assert_eq!(error["error"]["code"], "load_shed");
    let kept = send(&h, HIGH, &[]).await;
    assert_eq!(
        kept.status(),
        StatusCode::OK,
        "high without the header waits for a place and gets it"
    );
    for answer in held {
        assert_eq!(answer.await.unwrap().status(), StatusCode::OK);
    }
    let bad = send(&h, LOW, &[("x-steadfast-priority", "urgent")]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let ignored = gateway("").await;
    let answer = send(&ignored, LOW, &[("x-steadfast-priority", "nonsense")]).await;
    assert_eq!(
        answer.status(),
        StatusCode::OK,
        "the header is ignored unless allowed"
    );
}
