//! Streamed requests end to end: transparent failover until the first chunk,
//! an explicit error event after it, and cancellation when the client leaves.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use steadfast_mock::{Faults, Mode};

use crate::support::{Harness, eventually, header};

async fn stream(h: &Harness) -> reqwest::Response {
    h.post_json(
        "/v1/chat/completions",
        json!({"model": "chat", "stream": true, "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": "tell me"}]}),
    )
    .await
}

/// The whole body as text, and whether the connection ended cleanly.
async fn read_all(response: reqwest::Response) -> String {
    response.text().await.unwrap_or_default()
}

fn content_of(body: &str) -> String {
    body.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .filter_map(|data| serde_json::from_str::<serde_json::Value>(data).ok())
        .filter_map(|event| {
            event["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn streams_are_relayed_whole() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    let response = stream(&h).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "text/event-stream");
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let body = read_all(response).await;
    assert_eq!(content_of(&body), "primary here. You said: tell me");
    assert!(body.trim_end().ends_with("data: [DONE]"));
    assert!(body.contains("\"usage\""));
    assert!(
        eventually(Duration::from_secs(1), || async {
            h.target("m0").await["counts"]["successes"] == 1
        })
        .await
    );
}

#[tokio::test]
async fn failures_before_the_first_chunk_fail_over_transparently() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 503,
        ..Faults::default()
    });
    let response = stream(&h).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(header(&response, "x-steadfast-attempts"), "2");
    assert_eq!(
        content_of(&read_all(response).await),
        "secondary here. You said: tell me"
    );
}

#[tokio::test]
async fn a_slow_first_chunk_fails_over_after_the_first_token_timeout() {
    let h = Harness::start(&["primary", "secondary"], "first_token_timeout: 200ms", "").await;
    h.mocks[0].control().set(Faults {
        latency_ms: 5_000,
        ..Faults::default()
    });
    let started = tokio::time::Instant::now();
    let response = stream(&h).await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        content_of(&read_all(response).await),
        "secondary here. You said: tell me"
    );
}

#[tokio::test]
async fn a_stream_cut_after_the_first_chunk_ends_with_an_error_event() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::CutStream,
        cut_after: 3,
        chunk_interval_ms: 20,
        ..Faults::default()
    });
    let response = stream(&h).await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let body = read_all(response).await;
    assert!(
        !body.contains("[DONE]"),
        "a broken stream must not look finished: {body}"
    );
    let last = body
        .lines()
        .rev()
        .find(|l| l.starts_with("data: "))
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(last.trim_start_matches("data: ")).unwrap();
    assert_eq!(event["error"]["code"], "stream_interrupted");
    assert_eq!(content_of(&body), "primary here. ");
    assert!(
        eventually(Duration::from_secs(1), || async {
            h.target("m0").await["counts"]["failures"] == 1
        })
        .await
    );
    assert_eq!(h.mocks[1].control().counts().requests, 0);
}

#[tokio::test]
async fn a_client_that_leaves_cancels_the_upstream_stream() {
    let h = Harness::start(&["primary"], "", "").await;
    h.mocks[0].control().set(Faults {
        chunk_interval_ms: 200,
        ..Faults::default()
    });
    let response = stream(&h).await;
    let mut chunks = response.bytes_stream();
    let first = chunks.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: "));
    drop(chunks);
    assert!(
        eventually(Duration::from_secs(3), || async {
            h.mocks[0].control().counts().cancelled == 1
        })
        .await,
        "{:?}",
        h.mocks[0].control().counts()
    );
    // A client leaving is not the model's failure.
    assert_eq!(h.target("m0").await["counts"]["failures"], 0);
}

#[tokio::test]
async fn with_stream_resume_a_broken_stream_continues_on_the_next_target() {
    let h = Harness::start(&["primary", "secondary"], "", "stream_resume: true").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::CutStream,
        cut_after: 3,
        chunk_interval_ms: 20,
        ..Faults::default()
    });
    let response = stream(&h).await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let body = read_all(response).await;
    assert!(!body.contains("stream_interrupted"), "{body}");
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    let text = content_of(&body);
    assert!(
        text.starts_with("primary here. secondary here."),
        "one spliced answer: {text}"
    );
    // The continuation carried the partial answer and asked to go on from it.
    crate::support::assert_continues(&h.mocks[1], "primary here. ");
    assert_eq!(
        body.matches("\"role\":\"assistant\"").count(),
        1,
        "the role chunk is not repeated"
    );
    assert!(
        eventually(Duration::from_secs(1), || async {
            h.target("m0").await["counts"]["failures"] == 1
        })
        .await
    );
}
