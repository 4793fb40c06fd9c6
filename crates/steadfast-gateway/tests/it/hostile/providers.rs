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

/// A provider answering HTTP 200 with no answer in it — an error object, a
/// body of something else, JSON nested past any parser's depth, a stream of
/// events that are not JSON ended as if whole — fails over like any failure
/// of the model: the client gets a real answer, in a stream valid by its
/// format's grammar, and the provider is counted as failing.
#[tokio::test]
async fn a_200_that_holds_no_answer_fails_over() {
    let mocks = mocks(&["hollow", "spare"]).await;
    let gateway = Binary::start(&config(&mocks, LOOPBACK, "", "", "")).await;
    let client = reqwest::Client::new();
    // Past the JSON parser's depth of 128, built without it.
    let nested = (0..300).fold(json!([]), |inner, _| json!([inner]));
    let hollow_bodies = [
        json!({"error": {"message": "overloaded", "type": "server_error"}}),
        json!({"result": "ok", "list": [1, 2, 3]}),
        json!({"choices": nested}),
    ];
    for body in &hollow_bodies {
        mocks[0].control().set(Faults {
            mode: Mode::Error,
            status: 200,
            error_body: Some(body.clone()),
            ..Faults::default()
        });
        let answer = client
            .post(gateway.at("/v1/chat/completions"))
            .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(header(&answer, "x-steadfast-target"), "m1", "{body}");
    }

    mocks[0].control().set(Faults {
        mode: Mode::Garbage,
        ..Faults::default()
    });
    let streamed = client
        .post(gateway.at("/v1/chat/completions"))
        .json(&json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&streamed, "x-steadfast-target"), "m1");
    let body = streamed.text().await.unwrap();
    assert!(!body.contains("not json"), "{body}");
    assert!(body.contains("\"spare \""), "the spare answered: {body}");
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");

    // Through the Messages API: one message, begun and ended.
    let messages = client
        .post(gateway.at("/v1/messages"))
        .json(&json!({"model": "chat", "max_tokens": 50, "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let kinds = crate::support::event_types(&messages);
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("message_start"),
        "{messages}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("message_stop"),
        "{messages}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "message_stop").count(),
        1,
        "{messages}"
    );

    let status: serde_json::Value = client
        .get(gateway.at("/api/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hollow = status["targets"]
        .as_array()
        .and_then(|targets| targets.iter().find(|t| t["name"] == "m0"))
        .cloned()
        .unwrap_or_default();
    assert!(
        hollow["counts"]["failures"].as_u64() >= Some(5),
        "every hollow answer counted as a failure: {hollow}"
    );
}
