//! Request tracing: request ids reach the upstream, and `--log-json` writes
//! one JSON line per request naming its route, target, attempts, outcome and
//! latency.

use serde_json::{Value, json};

use crate::support::observe::{chat_body, fail_with, renamed};
use crate::support::{Harness, ServeProcess, header};

#[tokio::test]
async fn request_ids_reach_the_upstream() {
    let mocks = crate::support::mocks(&["primary"]).await;
    let yaml = renamed(&mocks, "", "", "traced", "t");
    let h = Harness::with_config(mocks, &yaml).await;
    let response = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("x-request-id", "trace-abc-123")
        .json(&chat_body("traced", false))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "x-request-id"), "trace-abc-123");
    assert_eq!(
        h.mocks[0].control().last_header("x-request-id").as_deref(),
        Some("trace-abc-123")
    );

    let response = h
        .post_json("/v1/chat/completions", chat_body("traced", false))
        .await;
    let generated = header(&response, "x-request-id");
    assert!(generated.starts_with("req_"), "{generated}");
    assert_eq!(
        h.mocks[0].control().last_header("x-request-id"),
        Some(generated)
    );
}

#[tokio::test]
async fn text_logs_written_to_a_pipe_carry_no_colour_codes() {
    let mocks = crate::support::mocks(&["primary"]).await;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let yaml = crate::support::config_yaml(&mocks, "", "")
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let config = dir.path().join("steadfast.yaml");
    std::fs::write(&config, yaml).unwrap();
    let gateway = ServeProcess::start(&[], &config, port, &[]).await;
    let served = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gateway.url))
        .header("x-request-id", "plain-text-line")
        .json(&chat_body("chat", false))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let logs = gateway.terminate().await;
    assert!(
        logs.lines()
            .any(|line| line.contains("request_id=\"plain-text-line\"")),
        "{logs}"
    );
    assert!(!logs.contains('\u{1b}'), "escape codes in {logs:?}");
}

#[tokio::test]
async fn log_json_writes_one_json_line_per_request_with_its_fields() {
    let mocks = crate::support::mocks(&["primary", "secondary"]).await;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let yaml = crate::support::config_yaml(&mocks, "", "retry: { max_attempts: 1 }")
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let config = dir.path().join("steadfast.yaml");
    std::fs::write(&config, yaml).unwrap();
    let gateway = ServeProcess::start(&["--log-json"], &config, port, &[]).await;
    let client = reqwest::Client::new();
    let url = gateway.url.clone();
    let chat = |id: &'static str| {
        client
            .post(format!("{url}/v1/chat/completions"))
            .header("x-request-id", id)
            .json(&chat_body("chat", false))
            .send()
    };
    assert_eq!(chat("log-served").await.unwrap().status(), 200);
    fail_with(&mocks[0], 500);
    fail_with(&mocks[1], 500);
    assert_eq!(chat("log-failed").await.unwrap().status(), 503);
    let logs = gateway.terminate().await;

    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let request = |id: &str| {
        lines
            .iter()
            .map(|line| &line["fields"])
            .find(|fields| fields["message"] == "request" && fields["request_id"] == id)
            .unwrap_or_else(|| panic!("no request line for {id} in {logs}"))
            .clone()
    };
    let served = request("log-served");
    assert_eq!(
        (
            &served["route"],
            &served["target"],
            &served["attempts"],
            &served["outcome"]
        ),
        (&json!("chat"), &json!("m0"), &json!(1), &json!("served")),
        "{served}"
    );
    assert!(served["latency_ms"].as_f64().unwrap() > 0.0);
    let failed = request("log-failed");
    assert_eq!(
        (
            &failed["route"],
            &failed["target"],
            &failed["attempts"],
            &failed["outcome"]
        ),
        (&json!("chat"), &json!("m1"), &json!(2), &json!("failed")),
        "{failed}"
    );
    assert!(failed["latency_ms"].is_number());
    assert!(
        failed["detail"].as_str().unwrap().contains("m0: transient"),
        "{failed}"
    );
}
