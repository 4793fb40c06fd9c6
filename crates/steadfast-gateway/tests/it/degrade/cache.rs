//! The answer cache through the gateway.

use reqwest::StatusCode;
use serde_json::{Value, json};
use steadfast_mock::Mode;

use super::chat_body;
use crate::support::fleet::Fleet;
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
    h.mocks[0].control().set(steadfast_mock::Faults {
        reply: "A newer answer.".into(),
        ..steadfast_mock::Faults::default()
    });
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
    let newer = post(&h, chat_body("capital of France?", json!({}))).await;
    assert_eq!(header(&newer, "x-steadfast-cache"), "hit");
    let newer: Value = newer.json().await.unwrap();
    assert_eq!(text(&newer), "A newer answer.");
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
async fn a_streamed_answer_is_kept_for_later_requests_when_it_told_its_usage() {
    let h = Harness::start(&["primary"], "", NORMAL).await;
    // Without usage in the stream, the answer is not kept: a later client
    // would be told it cost nothing.
    let uncounted = post(&h, chat_body("no usage", json!({"stream": true}))).await;
    assert!(uncounted.text().await.unwrap().contains("[DONE]"));
    let again = post(&h, chat_body("no usage", json!({}))).await;
    assert_eq!(header(&again, "x-steadfast-cache"), "");

    let usage = json!({"stream": true, "stream_options": {"include_usage": true}});
    let streamed = post(&h, chat_body("stream then ask", usage)).await;
    let body = streamed.text().await.unwrap();
    assert!(body.contains("[DONE]"));
    let plain = post(&h, chat_body("stream then ask", json!({}))).await;
    assert_eq!(header(&plain, "x-steadfast-cache"), "hit");
    let plain: Value = plain.json().await.unwrap();
    assert!(text(&plain).contains("stream then ask"), "{plain}");
    assert!(plain["usage"]["total_tokens"].as_u64() > Some(0), "{plain}");
    assert_eq!(h.mocks[0].control().counts().requests, 3);
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

/// A chat request with `content` to gateway `instance` of `fleet`.
async fn ask(fleet: &Fleet, instance: usize, content: &str) -> reqwest::Response {
    fleet
        .client
        .post(fleet.url(instance, "/v1/chat/completions"))
        .json(&chat_body(content, json!({})))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_fleet_shares_its_answers_in_redis_and_a_redis_outage_turns_the_cache_off() {
    let mut fleet = Fleet::start(&["primary"], "", STALE, "").await;
    let first = ask(&fleet, 0, "shared answer").await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    // The answer is written in the background: wait until it is in Redis.
    let mut redis = fleet.redis.connection().await;
    let keys: Vec<String> = crate::support::settled(
        std::time::Duration::from_secs(5),
        || {
            let mut redis = redis.clone();
            async move {
                redis::cmd("KEYS")
                    .arg("fleet-test:answers:chat:*")
                    .query_async(&mut redis)
                    .await
                    .unwrap()
            }
        },
        |keys: &Vec<String>| keys.len() == 1,
    )
    .await;
    assert_eq!(keys.len(), 1, "the answer never reached Redis: {keys:?}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "{ttl}");

    // Another gateway of the fleet answers it stale when the provider is down.
    fail(&fleet.mocks[0], Mode::Error, 503);
    let stale = ask(&fleet, 2, "shared answer").await;
    assert_eq!(header(&stale, "x-steadfast-cache"), "stale");
    let stale: Value = stale.json().await.unwrap();
    assert_eq!(text(&stale), text(&first));

    // Without Redis the cache is off, the route is not: the provider's own
    // failure is what the client sees, and answers go on once it is back.
    fleet.redis.kill();
    let without = ask(&fleet, 1, "shared answer").await;
    assert_eq!(without.status(), StatusCode::SERVICE_UNAVAILABLE);
    fail(&fleet.mocks[0], Mode::Ok, 200);
    let served = crate::support::eventually(std::time::Duration::from_secs(10), || async {
        ask(&fleet, 1, "shared answer").await.status() == StatusCode::OK
    })
    .await;
    assert!(served, "the route stopped serving without Redis");
}

#[tokio::test]
async fn writing_ten_times_the_bound_keeps_the_cache_within_it() {
    use crate::hostile::{Binary, LOOPBACK, config};
    let mocks = crate::support::mocks(&["primary"]).await;
    mocks[0].control().set(steadfast_mock::Faults {
        reply: "w".repeat(30 * 1024),
        ..steadfast_mock::Faults::default()
    });
    let bound = 1024 * 1024;
    let route = format!("cache: {{ mode: normal, max_bytes: {bound}, max_entry_bytes: 65536 }}");
    let gateway = Binary::start(&config(&mocks, LOOPBACK, "", "", &route)).await;
    let client = reqwest::Client::new();
    let before = gateway.rss_kib();
    // About 31 KiB kept per answer: 340 answers are ten times the bound.
    for i in 0..340 {
        let answer = client
            .post(gateway.at("/v1/chat/completions"))
            .json(&chat_body(&format!("question {i}"), json!({})))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let _ = answer.bytes().await.unwrap();
        if i % 50 == 49 {
            let held = gateway
                .metric("steadfast_cache_bytes{route=\"chat\"} ")
                .await;
            assert!(held <= bound as f64, "{held} bytes held after {i} answers");
            assert!(held > 0.0);
        }
    }
    let held = gateway
        .metric("steadfast_cache_bytes{route=\"chat\"} ")
        .await;
    let entries = gateway
        .metric("steadfast_cache_entries{route=\"chat\"} ")
        .await;
    let after = gateway.rss_kib();
    println!("cache held {held} bytes in {entries} answers; gateway RSS {before} -> {after} KiB");
    assert!(held <= bound as f64 && held > bound as f64 / 2.0, "{held}");
    assert!(entries < 40.0, "{entries}");
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
    // The newest answers are the ones kept.
    let last = client
        .post(gateway.at("/v1/chat/completions"))
        .json(&chat_body("question 339", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&last, "x-steadfast-cache"), "hit");
    let first = client
        .post(gateway.at("/v1/chat/completions"))
        .json(&chat_body("question 0", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&first, "x-steadfast-cache"), "");
}

/// With clients configured, a kept answer answers only the client that
/// asked (one client's answer never reaches another, nor tells it that
/// someone asked the same); `scope: shared` shares them.
#[tokio::test]
async fn kept_answers_are_each_clients_own_unless_the_route_shares_them() {
    let clients =
        "clients:\n  team-a: { key: \"key-a-123456\" }\n  team-b: { key: \"key-b-123456\" }\n";
    for (scope, shared) in [("", false), (", scope: shared", true)] {
        let mocks = crate::support::mocks(&["primary"]).await;
        let route = format!("cache: {{ mode: normal, ttl: 1m{scope} }}");
        let yaml = crate::support::config_yaml(&mocks, "", &route) + clients;
        let h = Harness::with_config(mocks, &yaml).await;
        let ask = |key: &'static str| {
            h.client
                .post(h.url("/v1/chat/completions"))
                .bearer_auth(key)
                .json(&chat_body("the launch codes?", json!({})))
                .send()
        };
        assert_eq!(
            header(&ask("key-a-123456").await.unwrap(), "x-steadfast-cache"),
            ""
        );
        let again = ask("key-a-123456").await.unwrap();
        assert_eq!(
            header(&again, "x-steadfast-cache"),
            "hit",
            "the same client"
        );
        let other = ask("key-b-123456").await.unwrap();
        let expected = if shared { "hit" } else { "" };
        assert_eq!(
            header(&other, "x-steadfast-cache"),
            expected,
            "scope{scope}"
        );
        let calls = if shared { 1 } else { 2 };
        assert_eq!(h.mocks[0].control().counts().requests, calls);
    }
}

/// A reload that puts another model behind a target's name never serves
/// the old model's kept answers.
#[tokio::test]
async fn a_reload_to_another_model_does_not_serve_the_old_models_answers() {
    let h = Harness::start(&["primary"], "", NORMAL).await;
    let first = post(&h, chat_body("capital of France?", json!({}))).await;
    assert_eq!(header(&first, "x-steadfast-cache"), "");
    let again = post(&h, chat_body("capital of France?", json!({}))).await;
    assert_eq!(header(&again, "x-steadfast-cache"), "hit");

    let yaml = std::fs::read_to_string(&h.config_path)
        .unwrap()
        .replace("model: upstream-0", "model: upstream-0-newer");
    std::fs::write(&h.config_path, yaml).unwrap();
    let reloaded = h.admin_post("/admin/reload").await;
    assert_eq!(reloaded.status(), 200, "{}", reloaded.text().await.unwrap());
    let after = post(&h, chat_body("capital of France?", json!({}))).await;
    assert_eq!(
        header(&after, "x-steadfast-cache"),
        "",
        "the old model's answer"
    );
    assert_eq!(
        h.mocks[0].control().last_request().unwrap()["model"],
        "upstream-0-newer"
    );
}
