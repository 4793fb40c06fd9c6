//! One count per request, made when its answer has really ended: a stream
//! that breaks after its first token is a failed request, a resumed stream is
//! one request served by the target that finished it, a client that leaves
//! mid-stream cancels, and a stream in flight is not counted yet. Prometheus
//! (`steadfast_requests_total`) and the route signals that alerts and the
//! report read (`/api/report`) agree on each.
//!
//! The metrics recorder is global to the process: each test names its route
//! and models apart.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use steadfast_mock::{Faults, Mode};

use crate::support::observe::{chat_body, renamed, scrape, value};
use crate::support::{Harness, eventually, header, mocks, settled};

/// A gateway over two providers, route `route` over models `{prefix}0` and
/// `{prefix}1`, with `route_extra` under the route.
async fn gateway(route: &str, prefix: &str, route_extra: &str) -> Harness {
    let mocks = mocks(&["primary", "secondary"]).await;
    let yaml = renamed(&mocks, "", route_extra, route, prefix);
    Harness::with_config(mocks, &yaml).await
}

/// Makes the first provider stream three chunks, then cut the connection.
fn cut_after_three_chunks(h: &Harness) {
    h.mocks[0].control().set(Faults {
        mode: Mode::CutStream,
        cut_after: 3,
        chunk_interval_ms: 20,
        ..Faults::default()
    });
}

/// `steadfast_requests_total` of `route` by `target` and `outcome`.
fn requests(text: &str, route: &str, target: &str, outcome: &str) -> f64 {
    value(
        text,
        "steadfast_requests_total",
        &[("route", route), ("target", target), ("outcome", outcome)],
    )
    .unwrap_or(0.0)
}

/// Every request of `route` in `steadfast_requests_total`, whatever its
/// target and outcome.
fn all_requests(text: &str, route: &str) -> f64 {
    value(text, "steadfast_requests_total", &[("route", route)]).unwrap_or(0.0)
}

/// The report's figures of `route` once its requests reached the history
/// (the sampler folds the route signals in every second): (requests,
/// errors, failovers).
async fn reported(h: &Harness, route: &str, requests: u64) -> (u64, u64, u64) {
    let fetch = || async {
        let report: Value = h
            .client
            .get(h.url("/api/report?window=5m"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entry = report["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == route)
            .cloned()
            .unwrap_or_default();
        let read = |key: &str| entry[key].as_u64().unwrap_or(0);
        (read("requests"), read("errors"), read("failovers"))
    };
    let figures = settled(Duration::from_secs(5), fetch, |f| f.0 >= requests).await;
    assert!(
        figures.0 >= requests,
        "route {route} never reached {requests} request(s): {figures:?}"
    );
    figures
}

/// The `/metrics` text once `done` holds of it (or after 3 s).
async fn metrics_once(h: &Harness, done: impl Fn(&str) -> bool) -> String {
    settled(Duration::from_secs(3), || scrape(h), |text| done(text)).await
}

#[tokio::test]
async fn a_stream_broken_after_its_first_token_counts_once_as_failed() {
    let h = gateway("broken", "b", "retry: { max_attempts: 1 }").await;
    cut_after_three_chunks(&h);
    let response = h
        .post_json("/v1/chat/completions", chat_body("broken", true))
        .await;
    assert_eq!(header(&response, "x-steadfast-target"), "b0");
    let body = response.text().await.unwrap();
    assert!(body.contains("stream_interrupted"), "{body}");

    let text = metrics_once(&h, |text| all_requests(text, "broken") >= 1.0).await;
    assert_eq!(requests(&text, "broken", "b0", "failed"), 1.0, "{text}");
    assert_eq!(requests(&text, "broken", "b0", "served"), 0.0, "{text}");
    assert_eq!(all_requests(&text, "broken"), 1.0, "counted once: {text}");
    let first_token = [("route", "broken"), ("target", "b0")];
    assert_eq!(
        value(
            &text,
            "steadfast_time_to_first_token_seconds_count",
            &first_token
        ),
        Some(1.0),
        "its first token still reached the client: {text}"
    );
    assert_eq!(reported(&h, "broken", 1).await, (1, 1, 0));
}

#[tokio::test]
async fn a_resumed_stream_counts_once_as_served_by_the_target_that_finished_it() {
    let h = gateway("resumed", "r", "stream_resume: true").await;
    cut_after_three_chunks(&h);
    let response = h
        .post_json("/v1/chat/completions", chat_body("resumed", true))
        .await;
    let body = response.text().await.unwrap();
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    assert_eq!(
        h.mocks[1].control().counts().requests,
        1,
        "one continuation"
    );

    let text = metrics_once(&h, |text| all_requests(text, "resumed") >= 1.0).await;
    assert_eq!(requests(&text, "resumed", "r1", "served"), 1.0, "{text}");
    assert_eq!(all_requests(&text, "resumed"), 1.0, "counted once: {text}");
    assert_eq!(
        value(
            &text,
            "steadfast_attempts_total",
            &[("route", "resumed"), ("target", "r1"), ("result", "served")]
        ),
        Some(1.0),
        "the continuation's attempt is counted: {text}"
    );
    // One request, served, after another target broke: a failover.
    assert_eq!(reported(&h, "resumed", 1).await, (1, 0, 1));
}

#[tokio::test]
async fn a_stream_is_counted_when_it_ends_and_a_client_that_leaves_cancels() {
    let h = gateway("slow", "w", "").await;
    h.mocks[0].control().set(Faults {
        chunk_interval_ms: 150,
        ..Faults::default()
    });
    // A stream in flight, its first token received: not counted yet.
    let response = h
        .post_json("/v1/chat/completions", chat_body("slow", true))
        .await;
    let mut chunks = response.bytes_stream();
    assert!(chunks.next().await.unwrap().unwrap().starts_with(b"data: "));
    assert_eq!(all_requests(&scrape(&h).await, "slow"), 0.0);
    // Read to its end: served.
    while chunks.next().await.is_some() {}
    assert!(
        eventually(Duration::from_secs(2), || async {
            requests(&scrape(&h).await, "slow", "w0", "served") == 1.0
        })
        .await
    );

    // A client that leaves after the first token cancels the request: it is
    // counted as cancelled, and neither served nor failed for availability.
    let response = h
        .post_json("/v1/chat/completions", chat_body("slow", true))
        .await;
    let mut chunks = response.bytes_stream();
    assert!(chunks.next().await.unwrap().unwrap().starts_with(b"data: "));
    drop(chunks);
    let text = metrics_once(&h, |text| requests(text, "slow", "w0", "cancelled") == 1.0).await;
    assert_eq!(requests(&text, "slow", "w0", "cancelled"), 1.0, "{text}");
    assert_eq!(all_requests(&text, "slow"), 2.0, "{text}");
    assert_eq!(reported(&h, "slow", 1).await, (1, 0, 0));
}
