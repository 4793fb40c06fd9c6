//! Bad input gets a precise error in OpenAI's shape, and the gateway keeps
//! serving.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::Harness;

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["type"].is_string(), "{body}");
    (status, body["error"].clone())
}

#[tokio::test]
async fn malformed_requests_are_400_with_a_reason() {
    let h = Harness::start(&["primary"], "", "").await;
    let raw = |body: &'static str| {
        h.client
            .post(h.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let response = raw("{not json").await.unwrap();
    // The body was read whole: the connection stays open for the next request.
    assert!(response.headers().get("connection").is_none());
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (status, error) = error_of(raw("[1,2]").await.unwrap()).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (status, error) = error_of(
        h.post_json("/v1/chat/completions", json!({"messages": []}))
            .await,
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("missing_field"))
    );
    assert!(error["message"].as_str().unwrap().contains("'model'"));
    let (status, error) = error_of(
        h.post_json("/v1/chat/completions", json!({"model": "chat"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("missing_field"))
    );
    let (status, _) = error_of(
        h.post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "messages": "hi"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = error_of(
        h.post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "stream": "yes", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(h.mocks[0].control().counts().requests, 0);
    assert_eq!(h.chat("still serving").await.status(), 200);
}

#[tokio::test]
async fn unknown_routes_are_404_naming_the_known_ones() {
    let h = Harness::start(&["primary"], "", "").await;
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (404, Some("model_not_found"))
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Available: chat")
    );
    let (status, _) = error_of(h.client.get(h.url("/v2/nothing")).send().await.unwrap()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn oversized_bodies_are_413_declared_or_not() {
    let h = Harness::start(&["primary"], "", "").await;
    let big = format!(
        "{{\"model\":\"chat\",\"messages\":[{{\"role\":\"user\",\"content\":\"{}\"}}]}}",
        "x".repeat(70_000)
    );
    let declared = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(crate::support::header(&declared, "connection"), "close");
    let (status, error) = error_of(declared).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (413, Some("request_too_large"))
    );
    // Chunked, with no declared length: cut off while reading.
    let chunks = futures_util::stream::iter(
        big.into_bytes()
            .chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let chunked = h
        .client
        .post(h.url("/v1/chat/completions"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    let (status, _) = error_of(chunked).await;
    assert_eq!(status, 413);
    assert_eq!(h.mocks[0].control().counts().requests, 0);
}

#[tokio::test]
async fn a_stalled_client_is_timed_out_and_others_are_served() {
    let mocks = crate::support::mocks(&["primary"]).await;
    let yaml = crate::support::config_yaml(&mocks, "", "").replace(
        "  max_body_bytes: 65536\n",
        "  max_body_bytes: 65536\n  client_timeout: 300ms\n",
    );
    let h = Harness::with_config(mocks, &yaml).await;
    let mut stalled = tokio::net::TcpStream::connect(h.gateway.addr())
        .await
        .unwrap();
    stalled
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"model\"")
        .await
        .unwrap();
    assert_eq!(h.chat("meanwhile").await.status(), 200);
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), stalled.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the stalled connection was not answered");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_port_already_taken_is_refused_not_shared() {
    let h = Harness::start(&["primary"], "", "").await;
    let taken = h.gateway.addr().to_string();
    let yaml = std::fs::read_to_string(&h.config_path)
        .unwrap()
        .replace("127.0.0.1:0", &taken);
    let path = h.dir.path().join("second.yaml");
    std::fs::write(&path, yaml).unwrap();
    let config = steadfast_config::load(&path).unwrap();
    let error = match steadfast_server::Gateway::start_with(config, &path).await {
        Ok(_) => panic!("a second gateway took the first one's port"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains(&format!("cannot listen on {taken}")),
        "{error}"
    );
    assert_eq!(h.chat("still here").await.status(), 200);
}
