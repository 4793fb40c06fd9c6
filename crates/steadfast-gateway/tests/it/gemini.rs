//! Gemini providers (`kind: gemini`) end to end against a simulated Gemini
//! API: OpenAI and Anthropic clients answered by Gemini through translation
//! (plain and streamed), the API key in `x-goog-api-key`, failover on
//! `RESOURCE_EXHAUSTED` honouring its `RetryInfo` delay, a prompt blocked for
//! safety as the client's answer, a function call as a tool call (plain and
//! streamed) and its result back, a context overflow failing over, probes on
//! the model list, and the key nowhere.

use std::time::Duration;

use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_mock::{Faults, MockOptions, MockServer, Mode};

use crate::support::{Harness, eventually, header};

const GEMINI_KEY: &str = "gemini-key-DO-NOT-LEAK-5e6f7a8b";

/// A Gemini provider `g` and an OpenAI one `o`; models `gem` (Gemini's
/// `model`) and `gpt`; route `chat` over both in that order.
async fn gemini_then_openai(model: &str, model_extra: &str) -> Harness {
    let gemini = MockServer::start(MockOptions {
        kind: ProviderKind::Gemini,
        ..MockOptions::named("gemini")
    })
    .await
    .unwrap();
    let openai = MockServer::start(MockOptions::named("openai"))
        .await
        .unwrap();
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}
providers:
  g: {{ kind: gemini, base_url: \"{}\", api_key: \"{GEMINI_KEY}\" }}
  o: {{ kind: openai, base_url: \"{}\" }}
models:
  gem: {{ provider: g, model: {model}{model_extra} }}
  gpt: {{ provider: o, model: gpt-4o }}
routes:
  chat: {{ targets: [gem, gpt], retry: {{ max_attempts: 1 }} }}
",
        gemini.base_url(),
        openai.base_url()
    );
    Harness::with_config(vec![gemini, openai], &yaml).await
}

fn text_of(chunks: &str) -> String {
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
async fn openai_and_anthropic_clients_are_answered_by_gemini() {
    let h = gemini_then_openai("gemini-2.0-flash", "").await;
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "max_tokens": 50, "temperature": 0.2,
                   "messages": [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "hello gemini"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "gem");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "gemini here. You said: hello gemini"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let gemini = h.mocks[0].control();
    assert_eq!(
        gemini.last_uri().unwrap(),
        "/v1beta/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(gemini.last_header("x-goog-api-key").unwrap(), GEMINI_KEY);
    let sent = gemini.last_request().unwrap();
    assert_eq!(sent["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(sent["contents"][0]["role"], "user");
    assert_eq!(sent["generationConfig"]["maxOutputTokens"], 50);

    // A strict tool, as OpenAI's SDKs write it: its JSON Schema reaches
    // Gemini where Gemini takes JSON Schema.
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"], "additionalProperties": false});
    let tooled = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "messages": [{"role": "user", "content": "weather?"}],
                   "tools": [{"type": "function", "function": {"name": "weather", "parameters": schema, "strict": true}}]}),
        )
        .await;
    assert_eq!(tooled.status(), 200);
    assert_eq!(header(&tooled, "x-steadfast-target"), "gem");
    let sent = gemini.last_request().unwrap();
    assert_eq!(
        sent["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"],
        schema
    );

    // Streamed, to an OpenAI client.
    let streamed = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "stream it"}]}),
        )
        .await;
    assert_eq!(header(&streamed, "x-steadfast-target"), "gem");
    let chunks = streamed.text().await.unwrap();
    assert_eq!(text_of(&chunks), "gemini here. You said: stream it");
    assert!(chunks.trim_end().ends_with("data: [DONE]"), "{chunks}");
    assert!(
        gemini
            .last_uri()
            .unwrap()
            .ends_with(":streamGenerateContent?alt=sse")
    );

    // The Messages API, streamed.
    let messages = h
        .post_json(
            "/v1/messages",
            json!({"model": "chat", "max_tokens": 100, "stream": true,
                   "messages": [{"role": "user", "content": "hi claude client"}]}),
        )
        .await;
    let events = messages.text().await.unwrap();
    assert!(events.contains("event: message_stop"), "{events}");
    assert!(events.contains(r#""text":"gemini ""#), "{events}");
    assert_eq!(h.mocks[1].control().counts().requests, 0);
}

#[tokio::test]
async fn gemini_3_takes_a_clients_tool_history() {
    let h = gemini_then_openai("gemini-3-pro-preview", "").await;
    // A conversation whose tool call another model made: no signature of
    // Gemini's own exists, and Gemini 3 refuses a call without one.
    let history = json!([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_10", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Lyon\"}"}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": "21C"},
        {"role": "tool", "tool_call_id": "call_10", "content": "23C"},
        {"role": "user", "content": "and tomorrow"}
    ]);
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "messages": history}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "gem");
    let sent = h.mocks[0].control().last_request().unwrap();
    let calls = &sent["contents"][1]["parts"];
    assert_eq!(
        calls[0]["thoughtSignature"],
        "skip_thought_signature_validator"
    );
    assert!(calls[1].get("thoughtSignature").is_none(), "{calls}");
    // The simulated Gemini 3 holds to the rule: the same turn unsigned is refused.
    let mut unsigned = sent.clone();
    unsigned["contents"][1]["parts"][0]
        .as_object_mut()
        .unwrap()
        .remove("thoughtSignature");
    let refused = reqwest::Client::new()
        .post(format!(
            "{}/v1beta/models/gemini-3-pro-preview:generateContent",
            h.mocks[0].base_url()
        ))
        .header("x-goog-api-key", GEMINI_KEY)
        .json(&unsigned)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let error: Value = refused.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("thought_signature")),
        "{error}"
    );
}

/// Gemini answers a declared function with a `functionCall` part (with a
/// `thoughtSignature`, on Gemini 3): an OpenAI client gets a tool call,
/// plain and streamed, and its result goes back and is answered.
#[tokio::test]
async fn a_gemini_function_call_is_an_openai_tool_call_plain_and_streamed() {
    let h = gemini_then_openai("gemini-3-pro-preview", "").await;
    let tools = json!([{"type": "function", "function": {"name": "weather",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}]);
    let asked = json!([{"role": "user", "content": "Weather in Paris?"}]);
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "messages": asked, "tools": tools}),
        )
        .await;
    assert_eq!(header(&response, "x-steadfast-target"), "gem");
    let body: Value = response.json().await.unwrap();
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "{body}");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(
        (&call["type"], &call["function"]["name"]),
        (&json!("function"), &json!("weather"))
    );
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({"text": "Weather in Paris?"}));

    let streamed = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "messages": asked, "tools": tools, "stream": true}),
        )
        .await;
    assert_eq!(header(&streamed, "x-steadfast-target"), "gem");
    let chunks = crate::support::events(&streamed.text().await.unwrap());
    let deltas: Vec<&Value> = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(deltas[0]["function"]["name"], "weather", "{chunks:?}");
    assert!(deltas[0]["id"].is_string(), "{chunks:?}");
    let streamed_arguments: String = deltas
        .iter()
        .filter_map(|delta| delta["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&streamed_arguments).unwrap(),
        arguments
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );

    // The result goes back (Gemini 3 takes the history only with a
    // signature on the call), and the model answers in words.
    let follow_up = json!([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "21C"}
    ]);
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "messages": follow_up, "tools": tools}),
        )
        .await;
    assert_eq!(header(&response, "x-steadfast-target"), "gem");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "stop", "{body}");
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .is_some_and(|text| text.starts_with("gemini here.")),
        "{body}"
    );
    let sent = h.mocks[0].control().last_request().unwrap();
    assert_eq!(
        sent["contents"][1]["parts"][0]["functionCall"]["name"],
        "weather"
    );
    assert_eq!(
        sent["contents"][2]["parts"][0]["functionResponse"]["name"],
        "weather"
    );
}

#[tokio::test]
async fn resource_exhausted_fails_over_and_waits_its_retry_delay() {
    let h = gemini_then_openai("gemini-2.0-flash", "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::RateLimit,
        retry_after: 40,
        ..Faults::default()
    });
    let response = h.chat("hello").await;
    assert_eq!(header(&response, "x-steadfast-target"), "gpt");
    let gem = h.target("gem").await;
    assert!(
        gem["cooling_down_ms"].as_u64().unwrap() > 30_000,
        "RetryInfo's delay is honoured: {gem}"
    );
}

#[tokio::test]
async fn a_prompt_blocked_for_safety_is_the_clients_answer() {
    let h = gemini_then_openai("gemini-2.0-flash", "").await;
    h.mocks[0].control().set_mode(Mode::SafetyBlock);
    let response = h.chat("something unsafe").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "gem");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["finish_reason"], "content_filter",
        "{body}"
    );
    let streamed = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "unsafe"}]}),
        )
        .await;
    let chunks = streamed.text().await.unwrap();
    assert!(
        chunks.contains("\"finish_reason\":\"content_filter\""),
        "{chunks}"
    );
    assert!(chunks.trim_end().ends_with("data: [DONE]"), "{chunks}");
    assert_eq!(h.mocks[1].control().counts().requests, 0, "not failed over");
    assert_eq!(h.target("gem").await["counts"]["failures"], 0);
}

#[tokio::test]
async fn a_context_overflow_fails_over_and_probes_list_the_models() {
    let h = gemini_then_openai(
        "gemini-2.0-flash",
        ", health_check: { interval: 100ms, timeout: 1s, retries: 1 }",
    )
    .await;
    assert!(
        eventually(Duration::from_secs(3), || async {
            h.mocks[0].control().counts().model_lists >= 2
        })
        .await
    );
    assert_eq!(h.target("gem").await["health"], "healthy");
    h.mocks[0].control().set_mode(Mode::ContextLength);
    let response = h.chat("a very long prompt").await;
    assert_eq!(header(&response, "x-steadfast-target"), "gpt");
    assert_eq!(h.target("gem").await["window_failure_rate"], 0.0);
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
        assert!(!text.contains(GEMINI_KEY), "{path} shows the key");
    }
}
