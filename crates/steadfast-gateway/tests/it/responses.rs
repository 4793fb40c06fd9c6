//! `POST /v1/responses` end to end: the Responses API's input (a string or
//! items with function calls and their outputs) translated for chat
//! targets of every format, its answers whole and as the typed event stream,
//! failover before the first token, and `previous_response_id` refused.

use serde_json::{Value, json};
use steadfast_mock::{Faults, Mode};

use crate::support::{Harness, anthropic_and_openai, header};

/// The `(event, data)` pairs of a typed event stream.
fn typed_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let kind = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((kind.to_owned(), serde_json::from_str(data).unwrap()))
        })
        .collect()
}

#[tokio::test]
async fn items_with_function_calls_reach_a_chat_target_translated() {
    let h = Harness::start(&["primary"], "", "").await;
    let response = h
        .post_json(
            "/v1/responses",
            json!({"model": "chat", "instructions": "Use the tools.", "max_output_tokens": 64,
                   "input": [
                       {"role": "user", "content": "Weather in Paris?"},
                       {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                       {"type": "function_call_output", "call_id": "call_1", "output": "{\"celsius\":21}"},
                       {"role": "user", "content": [{"type": "input_text", "text": "thanks"}]}
                   ],
                   "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    // The model calls the tool offered again (the simulated one calls the
    // first tool until a result is the last message): a function_call item.
    let call = &body["output"][0];
    assert_eq!(
        (&call["type"], &call["name"], &call["arguments"]),
        (
            &json!("function_call"),
            &json!("get_weather"),
            &json!("{\"text\":\"thanks\"}")
        ),
        "{body}"
    );
    assert!(call["call_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(
        body["usage"]["input_tokens"].as_u64().unwrap() > 0,
        "{body}"
    );
    let sent = h.mocks[0].control().last_request().unwrap();
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(
        messages[0],
        json!({"role": "system", "content": "Use the tools."})
    );
    assert_eq!(
        messages[2]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], "call_1");
    assert_eq!(sent["max_tokens"], 64);
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
}

#[tokio::test]
async fn a_stream_is_the_typed_event_stream_and_fails_over_before_its_first_token() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 503,
        ..Faults::default()
    });
    let response = h
        .post_json(
            "/v1/responses",
            json!({"model": "chat", "input": "stream it", "stream": true}),
        )
        .await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    let events = typed_events(&response.text().await.unwrap());
    let kinds: Vec<&str> = events.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds[..4],
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added"
        ],
        "{kinds:?}"
    );
    assert_eq!(
        kinds[kinds.len() - 4..],
        [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
        ],
        "{kinds:?}"
    );
    let text: String = events
        .iter()
        .filter(|(kind, _)| kind == "response.output_text.delta")
        .map(|(_, data)| data["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "secondary here. You said: stream it");
    let numbers: Vec<u64> = events
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    let completed = &events.last().unwrap().1["response"];
    assert_eq!(completed["output"][0]["content"][0]["text"], text.as_str());
}

#[tokio::test]
async fn an_anthropic_target_answers_and_stored_conversations_are_refused() {
    let h = anthropic_and_openai().await;
    let response = h
        .post_json(
            "/v1/responses",
            json!({"model": "claude-first", "input": "hello claude", "stream": true}),
        )
        .await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let events = typed_events(&response.text().await.unwrap());
    assert_eq!(events.last().unwrap().0, "response.completed");
    assert!(h.mocks[0].control().last_request().unwrap()["max_tokens"].is_u64());

    let refused = h
        .post_json(
            "/v1/responses",
            json!({"model": "gpt-first", "input": "again", "previous_response_id": "resp_1"}),
        )
        .await;
    assert_eq!(refused.status(), 400);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unsupported_parameter", "{error}");
    let missing = h
        .post_json("/v1/responses", json!({"model": "gpt-first"}))
        .await;
    assert_eq!(missing.status(), 400);
}
