//! Faulty providers: one whose answer never ends (plain or streamed, with
//! no event ever complete) must cost a bounded amount of memory and fail
//! over, not grow the gateway.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use steadfast_mock::{Faults, Mode};

use super::{Binary, LOOPBACK, config};
use crate::support::{header, mocks};

/// Breakers that never open, so every request meets the flood, and time
/// limits far beyond the test's: only the size bounds can end an attempt.
const NEVER_OPEN: &str = "max_answer_bytes: 2097152\ntimeout: 60s\nfirst_token_timeout: 60s\n\
    circuit_breaker: { consecutive_failures: 0, min_calls: 100000 }";

#[tokio::test]
async fn a_provider_sending_bytes_without_end_fails_over_within_bounded_memory() {
    let mocks = mocks(&["flood", "spare"]).await;
    mocks[0].control().set(Faults {
        mode: Mode::Flood,
        ..Faults::default()
    });
    let yaml = config(&mocks, LOOPBACK, "", NEVER_OPEN, "");
    let gateway = Binary::start(&yaml).await;
    let client = reqwest::Client::new();
    let mut before = None;
    for round in 0..40 {
        let stream = round % 2 == 1;
        let started = tokio::time::Instant::now();
        let answer = client
            .post(gateway.at("/v1/chat/completions"))
            .json(&json!({"model": "chat", "stream": stream,
                          "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(header(&answer, "x-steadfast-target"), "m1", "round {round}");
        assert_eq!(header(&answer, "x-steadfast-attempts"), "2");
        let text = answer.text().await.unwrap();
        assert!(text.contains("spare"), "{text}");
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(5),
            "round {round} (stream {stream}) took {took:?}"
        );
        if round == 3 {
            before = Some(gateway.rss_kib());
        }
    }
    let (before, after) = (before.unwrap(), gateway.rss_kib());
    println!("gateway RSS after 4 floods: {before} KiB, after 40: {after} KiB");
    assert!(
        after < before + 32 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
    assert!(after < 256 * 1024, "RSS {after} KiB");
    assert_eq!(mocks[0].control().counts().requests, 40);
}
