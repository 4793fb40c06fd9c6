//! Anthropic clients on `POST /v1/messages` end to end: answers from
//! Anthropic targets (passed through) and OpenAI ones (translated), plain and
//! streamed, tool calls as `tool_use` blocks, errors in Anthropic's shape, and
//! Anthropic's official Python SDK (installed into `.venv` by
//! `scripts/setup`) through failover.

use serde_json::{Value, json};
use steadfast_mock::{Faults, Mode};

use crate::support::{
    SECRET_KEY, anthropic_and_openai as start, event_types, events, fail, header, messages,
    run_script,
};

fn message_text(body: &str) -> String {
    events(body)
        .iter()
        .filter_map(|e| e["delta"]["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn anthropic_clients_get_messages_from_any_target() {
    let h = start().await;
    // Passed through to the Anthropic target (unknown fields included).
    let response = messages(&h, "claude-first", json!({"top_k": 5})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["type"], "message");
    assert_eq!(
        answer["content"][0]["text"],
        "claude here. You said: hello there"
    );
    let sent = h.mocks[0].control().last_request().unwrap();
    assert_eq!(
        (sent["top_k"].as_u64(), sent["model"].as_str()),
        (Some(5), Some("claude-sonnet-4-5"))
    );

    // Translated for the OpenAI target, plain and streamed.
    let response = messages(&h, "gpt-first", json!({})).await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["content"],
        json!([{"type": "text", "text": "gpt here. You said: hello there"}])
    );
    assert_eq!(answer["stop_reason"], "end_turn");
    assert!(answer["usage"]["output_tokens"].as_u64().unwrap() > 0);
    let sent = h.mocks[1].control().last_request().unwrap();
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(sent["max_tokens"], 100);

    let response = messages(&h, "gpt-first", json!({"stream": true})).await;
    assert_eq!(header(&response, "content-type"), "text/event-stream");
    let body = response.text().await.unwrap();
    assert_eq!(message_text(&body), "gpt here. You said: hello there");
    let kinds = event_types(&body);
    assert_eq!(kinds.first().map(String::as_str), Some("message_start"));
    assert_eq!(kinds[kinds.len() - 2..], ["message_delta", "message_stop"]);

    // Errors in Anthropic's shape.
    let response = messages(&h, "nope", json!({})).await;
    assert_eq!(response.status(), 404);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        (error["type"].as_str(), error["error"]["type"].as_str()),
        (Some("error"), Some("not_found_error"))
    );
    let response = h
        .post_json(
            "/v1/messages",
            json!({"model": "gpt-first", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["message"], "max_tokens: Field required");
    fail(&h.mocks[0], Mode::Error, 529);
    fail(&h.mocks[1], Mode::Error, 500);
    let response = messages(&h, "claude-first", json!({})).await;
    assert_eq!(response.status(), 503);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["type"], "overloaded_error");
    assert!(!error.to_string().contains(SECRET_KEY));
}

#[tokio::test]
async fn with_stream_resume_an_anthropic_stream_cut_midway_goes_on_from_another_provider() {
    let h = crate::support::anthropic_and_openai_with(
        "  resumable: { targets: [m0, m1], stream_resume: true }\n",
    )
    .await;
    // Cut after message_start, ping, content_block_start and two words.
    h.mocks[0].control().set(Faults {
        mode: Mode::CutStream,
        cut_after: 5,
        chunk_interval_ms: 20,
        ..Faults::default()
    });
    let response = messages(&h, "resumable", json!({"stream": true})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let body = response.text().await.unwrap();
    let kinds = event_types(&body);
    assert!(!kinds.iter().any(|k| k == "error"), "{body}");
    assert_eq!(
        kinds.iter().filter(|k| *k == "message_start").count(),
        1,
        "one message: {body}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("message_stop"),
        "{body}"
    );
    let text = message_text(&body);
    assert!(
        text.starts_with("claude here. gpt here."),
        "one answer, spliced from both providers: {text}"
    );
    // The OpenAI target got the partial answer and was asked to go on from it.
    crate::support::assert_continues(&h.mocks[1], "claude here. ");
}

/// An OpenAI target's tool call (whole, and streamed as OpenAI streams it:
/// the name first, the arguments in pieces) is a `tool_use` block.
#[tokio::test]
async fn an_openai_tool_call_is_a_tool_use_block_plain_and_streamed() {
    let h = start().await;
    let tools = json!({"tools": [{"name": "lookup",
        "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}}}]});
    let answer: Value = messages(&h, "gpt-first", tools.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["stop_reason"], "tool_use", "{answer}");
    let block = answer["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|block| block["type"] == "tool_use")
        .unwrap();
    assert_eq!(
        (&block["id"], &block["name"], &block["input"]),
        (
            &json!("call_mock_1"),
            &json!("lookup"),
            &json!({"text": "hello there"})
        )
    );

    let mut streamed = tools;
    streamed["stream"] = json!(true);
    let body = messages(&h, "gpt-first", streamed)
        .await
        .text()
        .await
        .unwrap();
    let events = events(&body);
    let start = events
        .iter()
        .find(|e| e["type"] == "content_block_start" && e["content_block"]["type"] == "tool_use")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(start["content_block"]["name"], "lookup");
    let input: String = events
        .iter()
        .filter(|e| e["delta"]["type"] == "input_json_delta")
        .filter_map(|e| e["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"text": "hello there"})
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "message_delta" && e["delta"]["stop_reason"] == "tool_use"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_python_sdk_plain_and_streamed_through_failover() {
    let h = start().await;
    // The Anthropic target is overloaded: every SDK call is answered by the OpenAI one.
    fail(&h.mocks[0], Mode::Error, 529);
    run_script("anthropic_sdk.py", &[&h.url("")]).await;
}
