//! Requests that cost far more to translate than to send: hundreds of
//! thousands of tiny content blocks from an OpenAI client to an Anthropic
//! model. The gateway's memory grows by a bounded multiple of what it holds,
//! a budget of bytes translated at once refuses what would pass it, and a
//! field nested too deep to read is refused by name rather than dropped.

use reqwest::StatusCode;
use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_mock::{MockOptions, MockServer};

use super::{Binary, LOOPBACK};

/// An OpenAI chat request of `blocks` text parts of one word each.
fn many_blocks(blocks: usize) -> Value {
    let parts: Vec<Value> = (0..blocks)
        .map(|i| json!({"type": "text", "text": format!("w{}", i % 10)}))
        .collect();
    json!({"model": "chat", "max_tokens": 10,
           "messages": [{"role": "user", "content": parts}]})
}

async fn anthropic_behind(server: &str) -> (MockServer, Binary) {
    let claude = MockServer::start(MockOptions {
        kind: ProviderKind::Anthropic,
        ..MockOptions::named("claude")
    })
    .await
    .unwrap();
    let yaml = format!(
        "server: {{ listen: \"{LOOPBACK}\", max_body_bytes: 20000000{server} }}
providers:
  a: {{ kind: anthropic, base_url: \"{}\", api_key: test-key-1234 }}
models:
  claude: {{ provider: a, model: claude-sonnet-4-5 }}
routes:
  chat: {{ targets: [claude] }}
",
        claude.base_url()
    );
    let gateway = Binary::start(&yaml).await;
    (claude, gateway)
}

/// The gateway's peak resident memory so far, in KiB.
fn peak_kib(gateway: &Binary) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", gateway.pid())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

async fn post(gateway: &Binary, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(gateway.at("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn translations_take_a_bounded_amount_of_memory_at_once() {
    // Heavy on the CPU: not while a timed run (a chaos scenario) is judged.
    let _heavy = crate::support::TIMED_RUNS.lock().await;
    let (_claude, gateway) = anthropic_behind("").await;
    let peak_before = peak_kib(&gateway);

    // 360,000 one-word blocks (9.7 MB): tens of times its size as a tree of
    // values, more than the whole budget. Refused, never built.
    let costly = serde_json::to_vec(&many_blocks(360_000)).unwrap();
    let refused = post(&gateway, costly).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error: Value = refused.json().await.unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("server.max_translating_bytes"),
        "{message}"
    );

    // Four at once of 20,000 blocks each: within the budget together.
    let fair = serde_json::to_vec(&many_blocks(20_000)).unwrap();
    let answers =
        futures_util::future::join_all((0..4).map(|_| post(&gateway, fair.clone()))).await;
    for answer in answers {
        assert_eq!(answer.status(), StatusCode::OK);
    }
    let grown_mib = peak_kib(&gateway).saturating_sub(peak_before) / 1024;
    eprintln!("translation: peak resident memory +{grown_mib} MiB");
    assert!(grown_mib < 300, "peak +{grown_mib} MiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_nested_past_the_parser_depth_is_refused_by_name() {
    let (_claude, gateway) = anthropic_behind("").await;
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let body = format!(
        r#"{{"model":"chat","max_tokens":5,"messages":[{{"role":"user","content":"hi"}}],"metadata":{deep}}}"#
    );
    let refused = post(&gateway, body.into_bytes()).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error: Value = refused.json().await.unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("field `metadata`") && message.contains("128"),
        "{message}"
    );
}
