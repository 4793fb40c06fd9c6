//! The answer cache through the gateway.

use reqwest::StatusCode;
use serde_json::{Value, json};
use steadfast_mock::Mode;

use super::chat_body;
use crate::support::{Harness, events, fail, header};

const NORMAL: &str = "cache: { mode: normal, ttl: 1m }";
const STALE: &str = "cache: { mode: stale_if_error, ttl: 1m }";

async fn post(h: &Harness, body: Value) -> reqwest::Response {
    h.post_json("/v1/chat/completions", body).await
}

fn text(answer: &Value) -> &str {
    answer["choices"][0]["message"]["content"].as_str().unwrap()
}

#[tokio::test]
async fn a_kept_answer_answers_plain_and_streamed_without_a_call() {
    let h = Harness::start(&["primary"], "", NORMAL).await;
    let first = post(&h, chat_body("capital of France?", json!({}))).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(header(&first, "x-steadfast-cache"), "");
    let first: Value = first.json().await.unwrap();

    let again = post(
        &h,
        chat_body("capital of France?", json!({"user": "someone else"})),
    )
    .await;
    assert_eq!(header(&again, "x-steadfast-cache"), "hit");
    assert_eq!(header(&again, "x-steadfast-attempts"), "0");
    assert_eq!(header(&again, "x-steadfast-target"), "");
    let again: Value = again.json().await.unwrap();
    assert_eq!(text(&again), text(&first));
    assert_eq!(again["usage"], first["usage"]);
    assert_eq!(h.mocks[0].control().counts().requests, 1);

    // The same request streamed: the kept answer as a stream.
    let streamed = post(&h, chat_body("capital of France?", json!({"stream": true}))).await;
    assert_eq!(header(&streamed, "x-steadfast-cache"), "hit");
    assert_eq!(header(&streamed, "content-type"), "text/event-stream");
    let body = streamed.text().await.unwrap();
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    let streamed_text: String = events(&body)
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed_text, text(&first));
    assert_eq!(h.mocks[0].control().counts().requests, 1);

    // The client may skip the lookup; the new answer is kept.
    let fresh = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("cache-control", "no-cache")
        .json(&chat_body("capital of France?", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&fresh, "x-steadfast-cache"), "");
    assert_eq!(h.mocks[0].control().counts().requests, 2);
    // Another question is another key.
    let other = post(&h, chat_body("capital of Spain?", json!({}))).await;
    assert_eq!(header(&other, "x-steadfast-cache"), "");
    assert_eq!(h.mocks[0].control().counts().requests, 3);

    let metrics = crate::support::observe::scrape(&h).await;
    let hits = crate::support::observe::value(
        &metrics,
        "steadfast_cache_lookups_total",
        &[("route", "chat"), ("result", "hit")],
    );
    assert!(hits >= Some(2.0), "{hits:?}");
    let served = crate::support::observe::value(
        &metrics,
        "steadfast_requests_total",
        &[("route", "chat"), ("outcome", "cache_hit")],
    );
    assert!(served >= Some(2.0), "{served:?}");
}

#[tokio::test]
async fn a_streamed_answer_is_kept_for_later_requests() {
    let h = Harness::start(&["primary"], "", NORMAL).await;
    let streamed = post(&h, chat_body("stream then ask", json!({"stream": true}))).await;
    let body = streamed.text().await.unwrap();
    assert!(body.contains("[DONE]"));
    let plain = post(&h, chat_body("stream then ask", json!({}))).await;
    assert_eq!(header(&plain, "x-steadfast-cache"), "hit");
    let plain: Value = plain.json().await.unwrap();
    assert!(text(&plain).contains("stream then ask"), "{plain}");
    assert_eq!(h.mocks[0].control().counts().requests, 1);
}

#[tokio::test]
async fn requests_that_sample_are_kept_only_when_the_route_says_so() {
    let h = Harness::start(&["primary"], "", NORMAL).await;
    for _ in 0..2 {
        let hot = post(&h, chat_body("a poem", json!({"temperature": 0.9}))).await;
        assert_eq!(header(&hot, "x-steadfast-cache"), "");
        let unset = h
            .post_json(
                "/v1/chat/completions",
                json!({"model": "chat", "messages": [{"role": "user", "content": "a poem"}]}),
            )
            .await;
        assert_eq!(header(&unset, "x-steadfast-cache"), "");
    }
    assert_eq!(h.mocks[0].control().counts().requests, 4);

    let sampled = Harness::start(&["primary"], "", "cache: { mode: normal, sampled: true }").await;
    for expected in ["", "hit"] {
        let hot = post(&sampled, chat_body("a poem", json!({"temperature": 0.9}))).await;
        assert_eq!(header(&hot, "x-steadfast-cache"), expected);
    }
}

#[tokio::test]
async fn stale_answers_come_only_when_every_target_failed() {
    let h = Harness::start(&["primary", "secondary"], "", STALE).await;
    let first = post(&h, chat_body("remember me", json!({}))).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    // While a target answers, every request goes to it.
    let second = post(&h, chat_body("remember me", json!({}))).await;
    assert_eq!(header(&second, "x-steadfast-cache"), "");
    assert_eq!(h.mocks[0].control().counts().requests, 2);

    fail(&h.mocks[0], Mode::Error, 503);
    fail(&h.mocks[1], Mode::Refuse, 0);
    let stale = post(&h, chat_body("remember me", json!({}))).await;
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(header(&stale, "x-steadfast-cache"), "stale");
    assert_ne!(header(&stale, "x-steadfast-attempts"), "0");
    let stale: Value = stale.json().await.unwrap();
    assert_eq!(text(&stale), text(&first));
    let streamed = post(&h, chat_body("remember me", json!({"stream": true}))).await;
    assert_eq!(header(&streamed, "x-steadfast-cache"), "stale");
    assert!(streamed.text().await.unwrap().contains("[DONE]"));
    // What was never answered fails fast, as before.
    let unknown = post(&h, chat_body("never asked", json!({}))).await;
    assert_eq!(unknown.status(), StatusCode::SERVICE_UNAVAILABLE);

    let status = h.status().await;
    let route = &status["routes"][0];
    assert_eq!(route["degraded"]["stale"], 2, "{status}");
}

#[tokio::test]
async fn the_messages_api_is_cached_in_its_own_shape() {
    let h = crate::support::anthropic_and_openai_with(
        "  cached: { targets: [m0], cache: { mode: normal } }",
    )
    .await;
    let body = json!({"model": "cached", "max_tokens": 50, "temperature": 0,
        "messages": [{"role": "user", "content": "hello there"}]});
    let first: Value = h
        .post_json("/v1/messages", body.clone())
        .await
        .json()
        .await
        .unwrap();
    let again = h.post_json("/v1/messages", body.clone()).await;
    assert_eq!(header(&again, "x-steadfast-cache"), "hit");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["type"], "message");
    assert_eq!(again["content"][0]["text"], first["content"][0]["text"]);
    let mut streamed = body;
    streamed["stream"] = json!(true);
    let events = h
        .post_json("/v1/messages", streamed)
        .await
        .text()
        .await
        .unwrap();
    assert!(events.contains("event: message_stop"), "{events}");
    assert_eq!(h.mocks[0].control().counts().requests, 1);
}
