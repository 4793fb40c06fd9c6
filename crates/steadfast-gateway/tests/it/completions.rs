//! The legacy `POST /v1/completions`, passed through to OpenAI-compatible
//! targets (plain and streamed, with failover), never translated: a target
//! of another format is passed over for the next one.

use serde_json::{Value, json};
use steadfast_mock::{Faults, Mode};

use crate::support::{Harness, anthropic_and_openai, header};

fn completion(route: &str, stream: bool) -> Value {
    json!({"model": route, "prompt": "Say this is a test", "max_tokens": 16, "stream": stream})
}

#[tokio::test]
async fn completions_pass_through_plain_and_streamed_with_failover() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    let response = h
        .post_json("/v1/completions", completion("chat", false))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(
        body["choices"][0]["text"],
        "primary here. You said: Say this is a test"
    );
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let sent = h.mocks[0].control().last_request().unwrap();
    assert_eq!(
        sent["model"], "upstream-0",
        "the route name became the upstream model"
    );
    assert_eq!(sent["max_tokens"], 16, "other fields pass through");

    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 503,
        ..Faults::default()
    });
    let streamed = h
        .post_json("/v1/completions", completion("chat", true))
        .await;
    assert_eq!(header(&streamed, "x-steadfast-target"), "m1");
    let text = streamed.text().await.unwrap();
    let said: String = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str::<Value>(data).unwrap())
        .filter_map(|chunk| chunk["choices"][0]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(said, "secondary here. You said: Say this is a test");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
}

#[tokio::test]
async fn a_target_of_another_format_is_passed_over_and_bad_requests_are_refused() {
    let h = anthropic_and_openai().await;
    // claude-first: the Anthropic target cannot take a legacy completion.
    let response = h
        .post_json("/v1/completions", completion("claude-first", false))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(h.mocks[0].control().counts().requests, 0);

    let missing = h
        .post_json("/v1/completions", json!({"model": "gpt-first"}))
        .await;
    assert_eq!(missing.status(), 400);
    let error: Value = missing.json().await.unwrap();
    assert_eq!(
        error["error"]["message"],
        "'prompt' is a required property."
    );
}
