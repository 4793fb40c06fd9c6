//! Anthropic upstreams end to end over real sockets: an OpenAI client
//! served by Anthropic and OpenAI providers failing over both ways (plain and
//! streamed, tool calls included), and Anthropic's failures classified.

use serde_json::{Value, json};
use steadfast_mock::{Faults, Mode};

use crate::support::{
    Harness, SECRET_KEY, anthropic_and_openai as start, events, fail, header, messages,
};

async fn chat(h: &Harness, route: &str, extra: Value) -> reqwest::Response {
    let mut body = json!({"model": route, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"}
    ]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    h.post_json("/v1/chat/completions", body).await
}

fn chunk_text(body: &str) -> String {
    events(body)
        .iter()
        .filter_map(|e| {
            e["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn openai_clients_are_served_by_anthropic_and_fail_over_both_ways() {
    let h = start().await;
    let response = chat(&h, "claude-first", json!({})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "claude here. You said: hello there"
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert!(answer["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let sent = h.mocks[0].control().last_request().unwrap();
    assert_eq!(sent["model"], "claude-sonnet-4-5");
    assert_eq!(sent["system"], "Be brief.");
    assert_eq!(sent["max_tokens"], 4096);
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "hello there"}]}])
    );
    assert_eq!(
        h.mocks[0].control().last_authorization().as_deref(),
        Some(SECRET_KEY)
    );

    // Anthropic overloaded (529): the OpenAI target answers.
    fail(&h.mocks[0], Mode::Error, 529);
    let response = chat(&h, "claude-first", json!({})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(header(&response, "x-steadfast-attempts"), "2");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "gpt here. You said: hello there"
    );

    // And the other way: OpenAI fails, Anthropic answers.
    h.mocks[0].control().set(Faults::default());
    fail(&h.mocks[1], Mode::Error, 500);
    let response = chat(&h, "gpt-first", json!({})).await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    assert_eq!(header(&response, "x-steadfast-attempts"), "2");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "claude here. You said: hello there"
    );
}

#[tokio::test]
async fn fields_a_translation_leaves_behind_are_named_to_the_client() {
    let h = start().await;
    let extra = json!({"seed": 7, "frequency_penalty": 0.5, "temperature": 0.2});
    let response = chat(&h, "claude-first", extra.clone()).await;
    assert_eq!(response.status(), 200);
    let mut dropped: Vec<String> = header(&response, "x-steadfast-dropped-fields")
        .split(", ")
        .map(str::to_owned)
        .collect();
    dropped.sort();
    assert_eq!(dropped, ["frequency_penalty", "seed"]);
    let sent = h.mocks[0].control().last_request().unwrap();
    assert_eq!(sent["temperature"], 0.2);
    assert!(sent.get("seed").is_none() && sent.get("frequency_penalty").is_none());

    // The OpenAI target takes the request as sent: nothing is left behind.
    let response = chat(&h, "gpt-first", extra).await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert!(
        response
            .headers()
            .get("x-steadfast-dropped-fields")
            .is_none()
    );
    assert_eq!(h.mocks[1].control().last_request().unwrap()["seed"], 7);

    // Nothing to leave behind, no header.
    let response = chat(&h, "claude-first", json!({})).await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    assert!(
        response
            .headers()
            .get("x-steadfast-dropped-fields")
            .is_none()
    );
}

/// A JSON schema reaches Claude 4.5 as structured outputs
/// (`output_config.format`), and an Anthropic client's structured output
/// reaches OpenAI as `response_format`; JSON without a schema passes Claude over.
#[tokio::test]
async fn json_schemas_reach_claude_as_structured_outputs_and_back() {
    let h = start().await;
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"], "additionalProperties": false});
    h.mocks[0].control().set(Faults {
        reply: r#"{"city":"Paris"}"#.into(),
        ..Faults::default()
    });
    let format = json!({"type": "json_schema", "json_schema": {"name": "place", "schema": schema, "strict": true}});
    let response = chat(&h, "claude-first", json!({"response_format": format})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        r#"{"city":"Paris"}"#
    );
    let sent = h.mocks[0].control().last_request().unwrap();
    assert_eq!(
        sent["output_config"],
        json!({"format": {"type": "json_schema", "schema": schema}})
    );

    let response = chat(
        &h,
        "claude-first",
        json!({"response_format": {"type": "json_object"}}),
    )
    .await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(
        h.mocks[0].control().counts().requests,
        1,
        "Claude was asked"
    );

    let response = messages(
        &h,
        "gpt-first",
        json!({"output_config": {"format": {"type": "json_schema", "schema": schema}}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert!(
        response
            .headers()
            .get("x-steadfast-dropped-fields")
            .is_none()
    );
    let sent = h.mocks[1].control().last_request().unwrap();
    assert_eq!(sent["response_format"]["type"], "json_schema");
    assert_eq!(sent["response_format"]["json_schema"]["schema"], schema);
}

#[tokio::test]
async fn streams_fail_over_both_ways_and_translate() {
    let h = start().await;
    let stream = json!({"stream": true, "stream_options": {"include_usage": true}});
    fail(&h.mocks[1], Mode::Error, 503);
    let response = chat(&h, "gpt-first", stream.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "text/event-stream");
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let body = response.text().await.unwrap();
    assert_eq!(chunk_text(&body), "claude here. You said: hello there");
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    let chunks = events(&body);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop")
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["usage"]["total_tokens"].as_u64().is_some_and(|t| t > 0))
    );
    assert_eq!(h.mocks[0].control().last_request().unwrap()["stream"], true);

    h.mocks[1].control().set(Faults::default());
    fail(&h.mocks[0], Mode::RateLimit, 429);
    let response = chat(&h, "claude-first", stream).await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    let body = response.text().await.unwrap();
    assert_eq!(chunk_text(&body), "gpt here. You said: hello there");
    // Anthropic's 429 carried Retry-After: the target cools down.
    let status = h.target("m0").await;
    assert_eq!(status["counts"]["failures"], 1, "{status}");
}

#[tokio::test]
async fn tool_calls_cross_formats_plain_and_streamed() {
    let h = start().await;
    let tools = json!({"tools": [{"type": "function", "function": {"name": "lookup",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}]});
    let answer: Value = chat(&h, "claude-first", tools.clone())
        .await
        .json()
        .await
        .unwrap();
    let choice = &answer["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], "claude calls lookup.");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(
        (call["id"].as_str(), call["function"]["name"].as_str()),
        (Some("toolu_mock_1"), Some("lookup"))
    );
    assert_eq!(call["function"]["arguments"], "{\"text\":\"hello there\"}");
    let sent = h.mocks[0].control().last_request().unwrap();
    assert_eq!(
        sent["tools"][0]["input_schema"]["properties"]["text"]["type"],
        "string"
    );

    let mut streamed = tools.clone();
    streamed["stream"] = json!(true);
    let body = chat(&h, "claude-first", streamed)
        .await
        .text()
        .await
        .unwrap();
    let calls: Vec<Value> = events(&body)
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["tool_calls"].get(0).cloned())
        .collect();
    assert_eq!(calls[0]["function"]["name"], "lookup");
    let arguments: String = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, "{\"text\":\"hello there\"}");
    assert!(
        events(&body)
            .iter()
            .any(|e| e["choices"][0]["finish_reason"] == "tool_calls")
    );

    // The tool's result goes back as a tool_result block, and is answered.
    let follow_up = json!({"model": "claude-first", "tools": tools["tools"], "messages": [
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "toolu_mock_1", "type": "function",
            "function": {"name": "lookup", "arguments": "{\"text\":\"hello there\"}"}}]},
        {"role": "tool", "tool_call_id": "toolu_mock_1", "content": "found it"}
    ]});
    let answer: Value = h
        .post_json("/v1/chat/completions", follow_up)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "claude here. You said: found it"
    );
    let sent = h.mocks[0].control().last_request().unwrap();
    assert_eq!(sent["messages"][2]["content"][0]["type"], "tool_result");
}

#[tokio::test]
async fn anthropic_failures_are_classified() {
    let h = start().await;
    // "prompt is too long" on Anthropic and context length on OpenAI: the client's problem.
    fail(&h.mocks[0], Mode::ContextLength, 400);
    fail(&h.mocks[1], Mode::ContextLength, 400);
    let response = chat(&h, "claude-first", json!({})).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "context_length_exceeded");
    let response = messages(&h, "claude-first", json!({})).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    // Neither breaker counts the client's mistake.
    assert_eq!(h.target("m0").await["breaker"], "closed");

    // A stream cut after its first text reaches the client as an error event.
    h.mocks[0].control().set(Faults {
        mode: Mode::CutStream,
        cut_after: 5,
        chunk_interval_ms: 20,
        ..Faults::default()
    });
    h.mocks[1].control().set(Faults::default());
    let response = chat(&h, "claude-first", json!({"stream": true})).await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let body = response.text().await.unwrap();
    assert!(!body.contains("[DONE]"), "{body}");
    assert_eq!(chunk_text(&body), "claude here. ");
    assert_eq!(
        events(&body).last().unwrap()["error"]["code"],
        "stream_interrupted"
    );
    let body = messages(&h, "claude-first", json!({"stream": true}))
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("event: error"), "{body}");
    assert!(!body.contains("message_stop"), "{body}");
}

#[tokio::test]
async fn steadfast_mock_speaks_the_messages_api() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_steadfast"))
        .args([
            "mock",
            "--kind",
            "anthropic",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "cli",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::io::BufReader::new(stdout)
        .lines()
        .next_line()
        .await
        .unwrap()
        .unwrap();
    let base = line.rsplit(' ').next().unwrap().to_owned();
    let client = reqwest::Client::new();
    let body = json!({"model": "claude", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let answer: Value = client
        .post(format!("{base}/v1/messages"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["content"][0]["text"], "cli here. You said: hi");
    assert_eq!(answer["stop_reason"], "end_turn");
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let text = client
        .post(format!("{base}/v1/messages"))
        .json(&streamed)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.starts_with("event: message_start\n"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("data: {\"type\":\"message_stop\"}"),
        "{text}"
    );
    // Faults at run time: 529 in Anthropic's error shape.
    let faults = json!({"mode": "error", "status": 529});
    client
        .put(format!("{base}/_mock/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    let response = client
        .post(format!("{base}/v1/messages"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 529);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["type"], "overloaded_error");
    child.kill().await.unwrap();
}
