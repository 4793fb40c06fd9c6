//! Priority shedding: with part of a route's capacity gone, low-priority
//! requests are refused first and high-priority ones keep their share.

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
    let mut yaml = config_with(&mocks, &server, "max_concurrency: 4", "shedding: {}");
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
async fn with_half_the_capacity_gone_low_priority_is_shed_and_high_priority_served() {
    let h = Arc::new(gateway("").await);
    h.admin_post("/admin/models/m1/trip").await;
    // Capacity now 4: low may fill 2, high 3 (90%, rounded down).
    let low: Vec<_> = (0..6)
        .map(|_| {
            let h = Arc::clone(&h);
            tokio::spawn(async move { send(&h, LOW, &[]).await })
        })
        .collect();
    settle(&h, 2, 4).await;
    // With 2 of the 4 places taken, high may fill up to 3 (90%) and
    // critical all 4.
    let mut high = Vec::new();
    for (key, in_flight) in [(HIGH, 3), (CRITICAL, 4)] {
        let h2 = Arc::clone(&h);
        high.push(tokio::spawn(async move { send(&h2, key, &[]).await }));
        settle(&h, in_flight, 4).await;
    }
    let mut shed = 0;
    for answer in low {
        let answer = answer.await.unwrap();
        if answer.status() == StatusCode::SERVICE_UNAVAILABLE {
            shed += 1;
            assert_eq!(header(&answer, "retry-after"), "1");
            let error: Value = answer.json().await.unwrap();
            assert_eq!(error["error"]["code"], "load_shed");
        } else {
            assert_eq!(answer.status(), StatusCode::OK);
        }
    }
    assert_eq!(shed, 4, "low may hold 2 of the 4 places left");
    for answer in high {
        assert_eq!(
            answer.await.unwrap().status(),
            StatusCode::OK,
            "high priority was shed"
        );
    }
    let status = h.status().await;
    assert_eq!(status["routes"][0]["degraded"]["shed"], 4, "{status}");
}

#[tokio::test]
async fn the_priority_header_counts_only_where_allowed_and_never_above_the_client() {
    let h = Arc::new(gateway("priority_header: true").await);
    h.admin_post("/admin/models/m1/trip").await;
    // Low fills its share (2 of the 4 places left) for a second.
    let held: Vec<_> = (0..2)
        .map(|_| {
            let h = Arc::clone(&h);
            tokio::spawn(async move { send(&h, LOW, &[]).await })
        })
        .collect();
    settle(&h, 2, 0).await;
    // A high-priority client that lowers itself is shed as low; a low one
    // cannot rise above its own priority.
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
        "high without the header keeps its share"
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
