//! The OpenAI-compatible servers people run themselves (vLLM, llama.cpp's
//! server, Ollama, TGI, LM Studio), end to end with their own error bodies: a
//! prompt too long for a small model fails over to a larger one instead of
//! reaching the client as a 400, an overloaded server fails over, and an
//! error sent inside an HTTP 200 stream is a failure like any other.

use serde_json::{Value, json};
use steadfast_mock::{Faults, Mode};

use crate::support::{Harness, header};

/// The context-overflow answers of each server: (status, body).
fn context_overflows() -> Vec<(u16, Value)> {
    vec![
        (
            400,
            json!({"error": {"code": 400, "message": "the request exceeds the available context size, try increasing it", "type": "exceed_context_size_error", "n_prompt_tokens": 5000, "n_ctx": 4096}}),
        ),
        (
            400,
            json!({"object": "error", "message": "The prompt (total length 25938) is too long to fit into the model (context length 4096).", "type": "BadRequestError", "param": null, "code": 400}),
        ),
        (
            500,
            json!({"error": {"message": "input exceeds context length", "type": "api_error"}}),
        ),
        (
            422,
            json!({"error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`", "error_type": "validation"}),
        ),
        (
            400,
            json!({"error": "Trying to keep the first 5000 tokens when context the overflows. However, the model is loaded with context length of only 4096 tokens, which is not enough."}),
        ),
    ]
}

fn answer_with(h: &Harness, mock: usize, status: u16, body: Value) {
    h.mocks[mock].control().set(Faults {
        mode: Mode::Error,
        status,
        error_body: Some(body),
        ..Faults::default()
    });
}

#[tokio::test]
async fn a_prompt_too_long_for_a_small_model_fails_over_to_a_larger_one() {
    let h = Harness::start(&["small", "large"], "", "retry: { max_attempts: 1 }").await;
    for (status, body) in context_overflows() {
        answer_with(&h, 0, status, body.clone());
        let response = h.chat("a long prompt").await;
        assert_eq!(response.status(), 200, "{body}");
        assert_eq!(header(&response, "x-steadfast-target"), "m1", "{body}");
    }
    // Not the small model's fault: its breaker saw no failure.
    let small = h.target("m0").await;
    assert_eq!(small["window_failure_rate"], 0.0, "{small}");

    // When every model finds it too long, the client is told so.
    let (status, body) = context_overflows().remove(0);
    answer_with(&h, 1, status, body);
    let response = h.chat("a long prompt").await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "context_length_exceeded", "{error}");
}

#[tokio::test]
async fn an_overloaded_server_fails_over() {
    let h = Harness::start(&["tgi", "backup"], "", "retry: { max_attempts: 1 }").await;
    answer_with(
        &h,
        0,
        429,
        json!({"error": "Model is overloaded", "error_type": "overloaded"}),
    );
    let response = h.chat("hello").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    answer_with(
        &h,
        0,
        503,
        json!({"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}),
    );
    let response = h.chat("hello").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
}

#[tokio::test]
async fn an_error_inside_an_http_200_stream_is_a_failure() {
    let h = Harness::start(&["vllm", "backup"], "", "retry: { max_attempts: 1 }").await;
    let stream = || {
        h.post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "tell me"}]}),
        )
    };
    // Before the first token: failed over, the client never sees it.
    h.mocks[0].control().set(Faults {
        mode: Mode::StreamError,
        cut_after: 1,
        error_body: Some(json!({"error": {"object": "error", "message": "CUDA out of memory", "type": "InternalServerError", "code": 500}})),
        ..Faults::default()
    });
    let response = stream().await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    let body = response.text().await.unwrap();
    assert!(
        body.contains("backup ") && body.contains("[DONE]"),
        "{body}"
    );
    assert!(!body.contains("CUDA"), "{body}");

    // After text reached the client: its stream ends with an error event,
    // never a clean finish, and the failure counts against the model.
    h.mocks[0].control().set(Faults {
        mode: Mode::StreamError,
        cut_after: 3,
        error_body: Some(json!({"error": "Request failed during generation: Server error: CUDA out of memory", "error_type": "generation"})),
        ..Faults::default()
    });
    let response = stream().await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let body = response.text().await.unwrap();
    assert!(body.contains("stream_interrupted"), "{body}");
    assert!(!body.contains("[DONE]"), "{body}");
    assert_eq!(h.target("m0").await["counts"]["failures"], 2);
}
