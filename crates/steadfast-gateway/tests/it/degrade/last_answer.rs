//! A route's static last answer, in every client format, plain and streamed.

use reqwest::StatusCode;
use serde_json::{Value, json};
use steadfast_mock::Mode;

use crate::support::{Harness, events, fail, header};

const MESSAGE: &str = "We are busy right now: please try again in a minute.";

async fn all_down() -> Harness {
    let route = format!("last_answer: {{ message: \"{MESSAGE}\" }}");
    let h = Harness::start(&["primary", "secondary"], "", &route).await;
    fail(&h.mocks[0], Mode::Error, 503);
    fail(&h.mocks[1], Mode::Refuse, 0);
    h
}

fn checked(response: &reqwest::Response) {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(response, "x-steadfast-static"), "true");
    assert_eq!(header(response, "x-steadfast-target"), "");
}

#[tokio::test]
async fn chat_completions_get_the_last_answer_plain_and_streamed() {
    let h = all_down().await;
    let plain = h.chat("anyone there?").await;
    checked(&plain);
    assert_ne!(
        header(&plain, "x-steadfast-attempts"),
        "0",
        "the targets were tried first"
    );
    let plain: Value = plain.json().await.unwrap();
    assert_eq!(plain["choices"][0]["message"]["content"], MESSAGE);
    assert_eq!(plain["choices"][0]["finish_reason"], "degraded");
    assert_eq!(plain["model"], "chat");

    let streamed = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "stream": true,
                   "messages": [{"role": "user", "content": "anyone there?"}]}),
        )
        .await;
    checked(&streamed);
    let body = streamed.text().await.unwrap();
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    let chunks = events(&body);
    let text: String = chunks
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, MESSAGE);
    assert!(
        chunks
            .iter()
            .any(|e| e["choices"][0]["finish_reason"] == "degraded")
    );

    let status = h.status().await;
    assert_eq!(
        status["routes"][0]["degraded"]["static_answers"], 2,
        "{status}"
    );
}

#[tokio::test]
async fn the_messages_and_responses_apis_get_it_in_their_shapes() {
    let h = all_down().await;
    let messages = h
        .post_json(
            "/v1/messages",
            json!({"model": "chat", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    checked(&messages);
    let messages: Value = messages.json().await.unwrap();
    assert_eq!(messages["type"], "message");
    assert_eq!(messages["content"][0]["text"], MESSAGE);
    assert_eq!(messages["stop_reason"], "degraded");
    let streamed = h
        .post_json(
            "/v1/messages",
            json!({"model": "chat", "max_tokens": 10, "stream": true,
                   "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    checked(&streamed);
    let body = streamed.text().await.unwrap();
    assert!(
        body.contains("event: message_stop") && body.contains(MESSAGE),
        "{body}"
    );

    let responses = h
        .post_json("/v1/responses", json!({"model": "chat", "input": "hi"}))
        .await;
    checked(&responses);
    let responses: Value = responses.json().await.unwrap();
    assert_eq!(responses["status"], "incomplete");
    assert_eq!(responses["incomplete_details"]["reason"], "degraded");
    assert_eq!(responses["output"][0]["content"][0]["text"], MESSAGE);
    let streamed = h
        .post_json(
            "/v1/responses",
            json!({"model": "chat", "input": "hi", "stream": true}),
        )
        .await;
    checked(&streamed);
    let body = streamed.text().await.unwrap();
    assert!(
        body.contains("response.incomplete") && body.contains(MESSAGE),
        "{body}"
    );
}

#[tokio::test]
async fn a_request_at_fault_and_a_served_one_never_get_it() {
    let route = format!("last_answer: {{ message: \"{MESSAGE}\" }}");
    let h = Harness::start(&["primary"], "", &route).await;
    let served = h.chat("hello").await;
    assert_eq!(header(&served, "x-steadfast-static"), "");
    fail(&h.mocks[0], Mode::ContextLength, 400);
    let too_long = h.chat("hello").await;
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&too_long, "x-steadfast-static"), "");
    // Embeddings have no text answer to give.
    fail(&h.mocks[0], Mode::Error, 503);
    let embedding = h
        .post_json("/v1/embeddings", json!({"model": "chat", "input": "hi"}))
        .await;
    assert_eq!(embedding.status(), StatusCode::SERVICE_UNAVAILABLE);
}
