//! The Grafana dashboard (`docs/grafana/steadfast.json`) against a live
//! gateway: every metric it queries must be exported once traffic (failures,
//! a tripped breaker, retries, a spent retry budget, a reload) has flowed.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::support::observe::{chat_body, fail_with, names, scrape, value};
use crate::support::{Harness, eventually};

/// Every metric name in the dashboard's queries and variables.
fn dashboard_metric_names() -> BTreeSet<String> {
    fn walk(value: &Value, names: &mut BTreeSet<String>) {
        match value {
            Value::String(text) => {
                for (at, _) in text.match_indices("steadfast_") {
                    let name: String = text[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    names.insert(name);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, names)),
            Value::Object(fields) => fields.values().for_each(|v| walk(v, names)),
            _ => {}
        }
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/grafana/steadfast.json"
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut names = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        walk(&panel["targets"], &mut names);
    }
    walk(&dashboard["templating"], &mut names);
    names
}

#[tokio::test]
async fn every_metric_the_dashboard_queries_exists_after_traffic() {
    let wanted = dashboard_metric_names();
    for concern in [
        "requests_total",
        "request_duration",
        "time_to_first_token",
        "breaker_state",
        "fallbacks",
        "retries",
        "rejections",
        "tokens",
    ] {
        assert!(
            wanted.iter().any(|n| n.contains(concern)),
            "the dashboard shows no {concern}: {wanted:?}"
        );
    }
    let mocks = crate::support::mocks(&["primary", "secondary", "flaky"]).await;
    let probe = "health_check: { interval: 50ms, timeout: 1s, retries: 1 }";
    let yaml = format!(
        "server:\n  listen: \"127.0.0.1:0\"\n  admin_token: \"{}\"\nproviders:\n{}models:\n\
         \x20 d0: {{ provider: p0, model: u0, circuit_breaker: {{ consecutive_failures: 1 }} }}\n\
         \x20 d1: {{ provider: p1, model: u1, {probe} }}\n\
         \x20 d2: {{ provider: p2, model: u2, circuit_breaker: {{ consecutive_failures: 0, min_calls: 1000 }} }}\n\
         routes:\n  dash: {{ targets: [d0, d1], retry: {{ initial_backoff: 1ms, max_backoff: 1ms }}, \
         cache: {{ mode: stale_if_error }}, shedding: {{ capacity: 100 }} }}\n\
         \x20 dash_retry: {{ targets: [d2], retry: {{ initial_backoff: 1ms, max_backoff: 1ms, budget: 0 }} }}\n",
        crate::support::ADMIN_TOKEN,
        mocks
            .iter()
            .enumerate()
            .map(|(i, m)| format!(
                "  p{i}: {{ kind: openai, base_url: \"{}\" }}\n",
                m.base_url()
            ))
            .collect::<String>(),
    );
    let h = Harness::with_config(mocks, &yaml).await;
    let send =
        |route: &'static str, stream| h.post_json("/v1/chat/completions", chat_body(route, stream));
    assert!(
        eventually(Duration::from_secs(5), || async {
            h.target("d1").await["health"] == "healthy"
        })
        .await
    );
    assert_eq!(send("dash", false).await.status(), 200);
    let streamed = send("dash", true).await;
    assert_eq!(streamed.status(), 200);
    streamed.text().await.unwrap();
    // d0 fails once and trips; the next request skips it (a rejection).
    fail_with(&h.mocks[0], 500);
    assert_eq!(send("dash", false).await.status(), 200);
    assert_eq!(send("dash", false).await.status(), 200);
    // A route that always fails: retries until the retry budget is spent.
    fail_with(&h.mocks[2], 500);
    let mut spent = false;
    for _ in 0..40 {
        assert_eq!(send("dash_retry", false).await.status(), 503);
        if scrape(&h)
            .await
            .contains("steadfast_retry_budget_exhausted_total{name=\"dash_retry\"}")
        {
            spent = true;
            break;
        }
    }
    assert!(spent, "the retry budget was never spent");
    let bad = h
        .client
        .post(h.url("/v1/embeddings"))
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(h.admin_post("/admin/reload").await.status(), 200);

    let text = scrape(&h).await;
    let exported = names(&text);
    let missing: Vec<&String> = wanted.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics the gateway does not export: {missing:?}\n{text}"
    );
    assert_eq!(
        value(&text, "steadfast_breaker_state", &[("name", "d0")]),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "steadfast_target_available", &[("target", "d0")]),
        Some(0.0)
    );
    assert_eq!(
        value(&text, "steadfast_health_status", &[("target", "d1")]),
        Some(1.0)
    );
    assert!(
        value(
            &text,
            "steadfast_rejections_total",
            &[("name", "d0"), ("reason", "breaker_open")]
        )
        .unwrap()
            >= 1.0
    );
    assert!(
        value(
            &text,
            "steadfast_retries_total",
            &[("name", "dash_retry"), ("kind", "transient")]
        )
        .unwrap()
            >= 10.0
    );
}
