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
        aws_secret: SECRET.to_owned(),
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

/// One simulated Bedrock serving four families (models `llama`, `nova`,
/// `sonnet45` — Claude Sonnet 4.5 — and `claude3`), signed with `secret`.
async fn families(secret: &str) -> Harness {
    let bedrock = MockServer::start(MockOptions {
        kind: ProviderKind::Bedrock,
        aws_secret: SECRET.to_owned(),
        ..MockOptions::named("bedrock")
    })
    .await
    .unwrap();
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}
providers:
  aws: {{ kind: bedrock, base_url: \"{}\", region: us-east-1, access_key_id: AKIAEXAMPLE123, secret_access_key: \"{secret}\" }}
models:
  llama: {{ provider: aws, model: \"meta.llama3-3-70b-instruct-v1:0\" }}
  nova: {{ provider: aws, model: \"us.amazon.nova-pro-v1:0\" }}
  sonnet45: {{ provider: aws, model: \"us.anthropic.claude-sonnet-4-5-20250929-v1:0\" }}
  claude3: {{ provider: aws, model: \"{MODEL}\" }}
routes:
  llama-first: {{ targets: [llama, claude3], retry: {{ max_attempts: 1 }} }}
  nova-first: {{ targets: [nova, claude3], retry: {{ max_attempts: 1 }} }}
  json: {{ targets: [llama, claude3, sonnet45], retry: {{ max_attempts: 1 }} }}
",
        bedrock.base_url()
    );
    Harness::with_config(vec![bedrock], &yaml).await
}

fn weather_tool() -> Value {
    json!([{"type": "function", "function": {"name": "weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
}

/// What each family is sent follows its rules (the mock refuses what the
/// service is reported to): a forced tool choice only where it is taken,
/// tool results beside the user's words only where that is taken, a tool
/// history without tools told in words, a JSON schema only to Claude 4.5;
/// a family that cannot take the request is passed over unasked.
#[tokio::test]
async fn each_bedrock_family_is_sent_what_it_takes_and_passed_over_for_the_rest() {
    let h = families(SECRET).await;
    let bedrock = h.mocks[0].control();

    // tool_choice required: Nova takes no `any`; Claude 3 does, and calls.
    let forced = json!({"model": "nova-first", "tools": weather_tool(), "tool_choice": "required",
        "messages": [{"role": "user", "content": "Paris?"}]});
    let response = h.post_json("/v1/chat/completions", forced).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "claude3");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls", "{body}");
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "weather");
    assert_eq!(call["function"]["arguments"], r#"{"text":"Paris?"}"#);
    assert_eq!(bedrock.counts().requests, 1, "Nova was asked");
    assert_eq!(
        bedrock.last_request().unwrap()["toolConfig"]["toolChoice"],
        json!({"any": {}})
    );

    // The replayed conversation with a follow-up: Llama takes no words in
    // the turn of tool results, so Claude answers it.
    let replayed = json!({"model": "llama-first", "tools": weather_tool(), "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"celsius\":21}"},
        {"role": "user", "content": "And tomorrow?"}]});
    let response = h.post_json("/v1/chat/completions", replayed.clone()).await;
    assert_eq!(header(&response, "x-steadfast-target"), "claude3");
    assert_eq!(bedrock.counts().requests, 2, "Llama was asked");

    // The same without tools (tool_choice none): Llama takes it, the tool
    // turns told in words (the mock refuses tool blocks without toolConfig).
    let mut untooled = replayed;
    untooled["tool_choice"] = json!("none");
    let response = h.post_json("/v1/chat/completions", untooled).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "llama");
    let sent = bedrock.last_request().unwrap();
    assert!(sent.get("toolConfig").is_none(), "{sent}");
    assert_eq!(
        sent["messages"][2]["content"],
        json!([{"text": "[tool result call_1: {\"celsius\":21}]"}, {"text": "And tomorrow?"}])
    );

    // A JSON schema: Llama and Claude 3 passed over, Sonnet 4.5 asked in
    // Converse's terms (the schema as a JSON string).
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"], "additionalProperties": false});
    bedrock.set(Faults {
        reply: r#"{"city":"Paris"}"#.into(),
        ..Faults::default()
    });
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "json", "messages": [{"role": "user", "content": "where?"}],
                   "response_format": {"type": "json_schema", "json_schema": {"name": "place", "schema": schema, "strict": true}}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "sonnet45");
    // Targets passed over unasked are no attempts.
    assert_eq!(header(&response, "x-steadfast-attempts"), "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        r#"{"city":"Paris"}"#
    );
    let format = &bedrock.last_request().unwrap()["outputConfig"]["textFormat"];
    assert_eq!(format["type"], "json_schema");
    let sent: Value = serde_json::from_str(
        format["structure"]["jsonSchema"]["schema"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(sent, schema);
    assert_eq!(bedrock.counts().requests, 4);

    // Nothing on the route can take JSON without a schema: 400, and why.
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "json", "messages": [{"role": "user", "content": "where?"}],
                   "response_format": {"type": "json_object"}}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    assert!(body.contains("without a schema"), "{body}");
}

/// A call signed with another secret is refused as AWS refuses it
/// (`InvalidSignatureException`): the simulated provider checks the whole
/// signature, not its shape.
#[tokio::test]
async fn a_call_signed_with_the_wrong_secret_is_refused() {
    let h = families("not-the-secret").await;
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "nova-first", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(response.status(), 503);
    let body = response.text().await.unwrap();
    assert!(body.contains("nova") && body.contains("claude3"), "{body}");
    let status = h.target("nova").await;
    assert_eq!(status["counts"]["failures"], 1, "{status}");
    assert_eq!(h.mocks[0].control().counts().requests, 0);
}
