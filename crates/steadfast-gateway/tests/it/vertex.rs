//! Vertex AI providers (`kind: vertex`) end to end against a simulated
//! Vertex AI: a real RSA service-account key (made with openssl) signs the
//! JWT exchanged at the token endpoint, the access token is kept and fetched
//! again before it expires, Gemini (`publisher: google`) and Claude
//! (`publisher: anthropic`) models are called at their Vertex URLs in their
//! formats, plain and streamed, Gemini models are probed by a token count,
//! and the key shows nowhere.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_mock::{Faults, MockOptions, MockServer, Mode};

use crate::support::{Harness, eventually, header, rsa_key_pair};

/// A service account key file holding `pem` whose token endpoint is
/// `token_uri`.
fn service_account(dir: &Path, token_uri: &str, pem: &str) -> std::path::PathBuf {
    let file = dir.join("service-account.json");
    let key = json!({
        "type": "service_account", "project_id": "proj-1", "private_key_id": "k1",
        "private_key": pem, "client_email": "gateway@proj-1.iam.gserviceaccount.com",
        "token_uri": token_uri,
    });
    std::fs::write(&file, key.to_string()).unwrap();
    file
}

/// One simulated Vertex AI; providers `vg` (Gemini) and `va` (Anthropic)
/// on it; routes `gem` and `claude`; `flash_extra` ends model `flash`.
async fn vertex(flash_extra: &str) -> (Harness, String) {
    let (pem, public_key) = rsa_key_pair();
    let mock = MockServer::start(MockOptions {
        kind: ProviderKind::Vertex,
        google_public_key: Some(public_key),
        ..MockOptions::named("vertex")
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = service_account(dir.path(), &format!("{}/token", mock.base_url()), &pem);
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}
providers:
  vg: {{ kind: vertex, base_url: \"{base}\", project: proj-1, region: us-central1, credentials_file: {key:?} }}
  va: {{ kind: vertex, base_url: \"{base}\", project: proj-1, region: us-central1, publisher: anthropic, credentials_file: {key:?} }}
models:
  flash: {{ provider: vg, model: gemini-2.0-flash{flash_extra} }}
  sonnet: {{ provider: va, model: \"claude-3-5-sonnet@20240620\" }}
routes:
  gem: {{ targets: [flash] }}
  claude: {{ targets: [sonnet] }}
",
        base = mock.base_url(),
        key = key_file.display().to_string(),
    );
    let h = Harness::with_config(vec![mock], &yaml).await;
    // The key file is read at start: the folder may go.
    drop(dir);
    (h, pem)
}

fn ask(route: &str, stream: bool) -> Value {
    json!({"model": route, "stream": stream, "max_tokens": 50, "messages": [{"role": "user", "content": "hello vertex"}]})
}

#[tokio::test]
async fn gemini_on_vertex_with_a_kept_service_account_token() {
    let (h, pem) = vertex("").await;
    let response = h.post_json("/v1/chat/completions", ask("gem", false)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "vertex here. You said: hello vertex"
    );
    let control = h.mocks[0].control();
    assert_eq!(
        control.last_uri().unwrap(),
        "/v1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(
        control.last_header("authorization").unwrap(),
        "Bearer ya29.mock-1"
    );
    let streamed = h.post_json("/v1/chat/completions", ask("gem", true)).await;
    assert_eq!(header(&streamed, "x-steadfast-target"), "flash");
    assert!(streamed.text().await.unwrap().contains("[DONE]"));
    assert_eq!(
        control.counts().tokens,
        1,
        "the token is kept between calls"
    );
    let key_line = pem.lines().nth(1).unwrap();
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
            !text.contains(key_line) && !text.contains("ya29.mock"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn gemini_on_vertex_is_probed_by_a_token_count() {
    let (h, _) = vertex(", health_check: { interval: 100ms, timeout: 1s, retries: 1 }").await;
    let control = h.mocks[0].control();
    assert!(
        eventually(Duration::from_secs(3), || async {
            control.counts().model_lists >= 2
        })
        .await,
        "the model is probed"
    );
    assert_eq!(h.target("flash").await["health"], "healthy");
    assert_eq!(control.counts().requests, 0, "a probe generates nothing");
    assert!(
        control
            .last_header("authorization")
            .is_some_and(|auth| auth.starts_with("Bearer ya29.mock-")),
        "probes carry the service account's token"
    );
    control.set_mode(Mode::Error);
    assert!(
        eventually(Duration::from_secs(3), || async {
            h.target("flash").await["health"] == "unhealthy"
        })
        .await,
        "a failing token count marks the model unhealthy"
    );
}

#[tokio::test]
async fn a_token_is_fetched_again_before_it_expires() {
    let (h, _) = vertex("").await;
    h.mocks[0].control().set(Faults {
        token_lifetime_s: 2,
        ..Faults::default()
    });
    assert_eq!(
        h.post_json("/v1/chat/completions", ask("gem", false))
            .await
            .status(),
        200
    );
    assert_eq!(h.mocks[0].control().counts().tokens, 1);
    assert!(
        eventually(Duration::from_secs(5), || async {
            h.post_json("/v1/chat/completions", ask("gem", false))
                .await
                .status()
                == 200
                && h.mocks[0].control().counts().tokens == 2
        })
        .await,
        "a second token within the first one's lifetime: {:?}",
        h.mocks[0].control().counts()
    );
    assert_eq!(
        h.mocks[0].control().last_header("authorization").unwrap(),
        "Bearer ya29.mock-2"
    );
}

#[tokio::test]
async fn claude_on_vertex_takes_the_messages_api_with_the_model_in_the_url() {
    let (h, _) = vertex("").await;
    let response = h
        .post_json(
            "/v1/messages",
            json!({"model": "claude", "max_tokens": 50, "messages": [{"role": "user", "content": "hi claude"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["content"][0]["text"],
        "vertex here. You said: hi claude"
    );
    let control = h.mocks[0].control();
    assert_eq!(
        control.last_uri().unwrap(),
        "/v1/projects/proj-1/locations/us-central1/publishers/anthropic/models/claude-3-5-sonnet@20240620:rawPredict"
    );
    let sent = control.last_request().unwrap();
    assert_eq!(sent["anthropic_version"], "vertex-2023-10-16");
    assert!(sent.get("model").is_none(), "{sent}");
    // The Messages API is passed on as sent, with what the canonical model
    // does not hold (prompt caching, extended thinking, metadata) kept.
    let system = json!([{"type": "text", "text": "Long cached context.", "cache_control": {"type": "ephemeral"}}]);
    let streamed = h
        .post_json(
            "/v1/messages",
            json!({"model": "claude", "max_tokens": 2048, "stream": true, "system": system,
                   "thinking": {"type": "enabled", "budget_tokens": 1024},
                   "metadata": {"user_id": "u-7"},
                   "messages": [{"role": "user", "content": "think about it"}]}),
        )
        .await;
    assert_eq!(streamed.status(), 200);
    let events = streamed.text().await.unwrap();
    assert!(events.starts_with("event: message_start"), "{events}");
    assert!(events.contains(r#""text":"think ""#), "{events}");
    assert!(events.contains("event: message_stop"), "{events}");
    assert!(control.last_uri().unwrap().ends_with(":streamRawPredict"));
    let sent = control.last_request().unwrap();
    assert_eq!(sent["system"], system);
    assert_eq!(sent["thinking"]["budget_tokens"], 1024);
    assert_eq!(sent["metadata"]["user_id"], "u-7");
    assert_eq!(sent["anthropic_version"], "vertex-2023-10-16");
    assert!(sent.get("model").is_none(), "{sent}");
    // Streamed, to an OpenAI client.
    let streamed = h
        .post_json("/v1/chat/completions", ask("claude", true))
        .await;
    assert_eq!(header(&streamed, "x-steadfast-target"), "sonnet");
    let chunks = streamed.text().await.unwrap();
    assert!(chunks.trim_end().ends_with("data: [DONE]"), "{chunks}");
    assert!(control.last_uri().unwrap().ends_with(":streamRawPredict"));
}

/// The simulated provider takes what the official AnthropicVertex client
/// sends by default (it refused its `anthropic_version` once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_anthropic_vertex_client_is_answered_by_the_simulated_provider() {
    let mock = MockServer::start(MockOptions {
        kind: ProviderKind::Vertex,
        ..MockOptions::named("vertex")
    })
    .await
    .unwrap();
    let base = format!("{}/v1", mock.base_url().trim_end_matches('/'));
    crate::support::run_script("anthropic_vertex.py", &[&base, "ya29.mock-1"]).await;
}

/// Google's own libraries judge the simulated provider: google-auth's JWT
/// exchange is taken (and one signed by a key the mock does not know is
/// refused, so the mock checks signatures), and google-genai in Vertex AI
/// mode is answered, whole and streamed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn googles_official_libraries_are_answered_by_the_simulated_provider() {
    let (pem, public_key) = rsa_key_pair();
    let (other_pem, _) = rsa_key_pair();
    let mock = MockServer::start(MockOptions {
        kind: ProviderKind::Vertex,
        google_public_key: Some(public_key),
        ..MockOptions::named("vertex")
    })
    .await
    .unwrap();
    let token_uri = format!("{}/token", mock.base_url());
    let dir = tempfile::tempdir().unwrap();
    let key_file = service_account(dir.path(), &token_uri, &pem);
    let other_dir = tempfile::tempdir().unwrap();
    let other_key_file = service_account(other_dir.path(), &token_uri, &other_pem);
    crate::support::run_script(
        "vertex_official.py",
        &[
            &mock.base_url(),
            key_file.to_str().unwrap(),
            other_key_file.to_str().unwrap(),
        ],
    )
    .await;
    assert!(mock.control().counts().requests >= 2);
}

/// Gemini on Vertex AI calls a tool as Gemini does: an OpenAI client gets
/// the call as `tool_calls`, plain and streamed, and its result is answered.
#[tokio::test]
async fn gemini_on_vertex_calls_tools_for_an_openai_client() {
    let (h, _) = vertex("").await;
    let tools = json!([{"type": "function", "function": {"name": "weather",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}]);
    let mut asked = ask("gem", false);
    asked["tools"] = tools.clone();
    let body: Value = h
        .post_json("/v1/chat/completions", asked.clone())
        .await
        .json()
        .await
        .unwrap();
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{body}");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "weather");
    assert_eq!(call["function"]["arguments"], r#"{"text":"hello vertex"}"#);
    let sent = h.mocks[0].control().last_request().unwrap();
    assert_eq!(
        sent["tools"][0]["functionDeclarations"][0]["name"],
        "weather"
    );

    asked["stream"] = json!(true);
    let streamed = h
        .post_json("/v1/chat/completions", asked.clone())
        .await
        .text()
        .await
        .unwrap();
    let names: Vec<Value> = crate::support::events(&streamed)
        .iter()
        .filter_map(|e| {
            e["choices"][0]["delta"]["tool_calls"][0]["function"]["name"]
                .as_str()
                .map(Value::from)
        })
        .collect();
    assert_eq!(names, [json!("weather")], "{streamed}");

    asked["stream"] = json!(false);
    asked["messages"] = json!([
        {"role": "user", "content": "hello vertex"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "{\"celsius\":21}"}]);
    let body: Value = h
        .post_json("/v1/chat/completions", asked)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "stop", "{body}");
}
