//! Amazon Bedrock providers (`kind: bedrock`) end to end against a
//! simulated Converse API: calls signed with Signature Version 4 at the
//! model's encoded path, answers whole and in AWS's event-stream framing
//! translated for OpenAI and Anthropic clients (the official Anthropic SDK
//! among them), `ThrottlingException` and a too-long input failing over,
//! an exception inside the stream, and the credentials nowhere.

use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_mock::{Faults, MockOptions, MockServer, Mode};

use crate::support::{Harness, header, run_script};

const SECRET: &str = "wJalrXUtnFEMI-DO-NOT-LEAK-K7MDENGbPxRfiCY";
const SESSION: &str = "session-DO-NOT-LEAK-IQoJb3JpZ2luX2Vj";
const MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

/// A Bedrock provider `aws` and an OpenAI one `o`; models `claude` (on
/// Bedrock) and `gpt`; route `chat` over both in that order.
async fn bedrock_then_openai() -> Harness {
    let bedrock = MockServer::start(MockOptions {
        kind: ProviderKind::Bedrock,
        ..MockOptions::named("bedrock")
    })
    .await
    .unwrap();
    let openai = MockServer::start(MockOptions::named("openai"))
        .await
        .unwrap();
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}
providers:
  aws: {{ kind: bedrock, base_url: \"{}\", region: eu-west-3, access_key_id: AKIAEXAMPLE123, secret_access_key: \"{SECRET}\", session_token: \"{SESSION}\" }}
  o: {{ kind: openai, base_url: \"{}\" }}
models:
  claude: {{ provider: aws, model: \"{MODEL}\" }}
  gpt: {{ provider: o, model: gpt-4o }}
routes:
  chat: {{ targets: [claude, gpt], retry: {{ max_attempts: 1 }} }}
",
        bedrock.base_url(),
        openai.base_url()
    );
    Harness::with_config(vec![bedrock, openai], &yaml).await
}

fn stream_text(chunks: &str) -> String {
    chunks
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn signed_calls_at_the_encoded_model_path_answered_whole_and_streamed() {
    let h = bedrock_then_openai().await;
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "max_tokens": 30,
                   "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello bedrock"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "claude");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "bedrock here. You said: hello bedrock"
    );
    assert!(body["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    let bedrock = h.mocks[0].control();
    assert_eq!(
        bedrock.last_uri().unwrap(),
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    );
    let authorization = bedrock.last_header("authorization").unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE123/")
            && authorization.contains("/eu-west-3/bedrock/aws4_request"),
        "{authorization}"
    );
    assert_eq!(
        bedrock.last_header("x-amz-security-token").unwrap(),
        SESSION
    );
    let sent = bedrock.last_request().unwrap();
    assert_eq!(sent["system"][0]["text"], "Be brief.");
    assert_eq!(sent["inferenceConfig"]["maxTokens"], 30);

    let streamed = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "stream it"}]}),
        )
        .await;
    assert_eq!(header(&streamed, "x-steadfast-target"), "claude");
    let chunks = streamed.text().await.unwrap();
    assert_eq!(stream_text(&chunks), "bedrock here. You said: stream it");
    assert!(chunks.trim_end().ends_with("data: [DONE]"), "{chunks}");
    assert!(bedrock.last_uri().unwrap().ends_with("/converse-stream"));
    assert_eq!(h.mocks[1].control().counts().requests, 0);
}

#[tokio::test]
async fn throttling_a_too_long_input_and_a_stream_exception_fail_over() {
    let h = bedrock_then_openai().await;
    h.mocks[0].control().set_mode(Mode::RateLimit);
    assert_eq!(header(&h.chat("hello").await, "x-steadfast-target"), "gpt");

    h.mocks[0].control().set_mode(Mode::ContextLength);
    assert_eq!(
        header(&h.chat("a long prompt").await, "x-steadfast-target"),
        "gpt"
    );
    let claude = h.target("claude").await;
    assert_eq!(claude["counts"]["failures"], 2, "{claude}");

    h.mocks[0].control().set(Faults {
        mode: Mode::StreamError,
        cut_after: 1,
        ..Faults::default()
    });
    let streamed = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(header(&streamed, "x-steadfast-target"), "gpt");
    assert!(streamed.text().await.unwrap().contains("[DONE]"));
    for path in ["/api/status", "/metrics"] {
        let text = h
            .client
            .get(h.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !text.contains(SECRET) && !text.contains(SESSION),
            "{path} shows a credential"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anthropic_sdk_is_answered_by_bedrock() {
    let h = bedrock_then_openai().await;
    run_script("anthropic_bedrock.py", &[&h.url(""), "chat"]).await;
    assert_eq!(h.mocks[1].control().counts().requests, 0);
}
