//! The core promise under the faults the field measures (failoverbench's
//! catalogue): the whole right answer or a clean error, never a wrong answer
//! called a success. Streams judged whole by their content, events that do
//! not parse kept from the client, continuations of a broken stream joined
//! only when they carry on the text sent, models back in service without a
//! client taking the risk, a target retried on the spot when it says so, and
//! a provider's refusal passed on with its own code.

use std::time::Duration;

use serde_json::{Value, json};
use steadfast_mock::{Faults, Mode};

use crate::support::observe::{scrape, value};
use crate::support::{Harness, event_types, events, eventually, header, messages};

/// The answer the primary starts and its continuations repeat or depart from.
const ANSWER: &str = "The gateway keeps answering when the provider behind it stalls, fails or rate-limits the caller.";

async fn stream(h: &Harness) -> String {
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "stream": true, "stream_options": {"include_usage": true},
                   "messages": [{"role": "user", "content": "tell me"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The text of an OpenAI stream's chunks.
fn content(body: &str) -> String {
    events(body)
        .iter()
        .filter_map(|event| event["choices"][0]["delta"]["content"].as_str())
        .collect()
}

/// The usage chunk of an OpenAI stream.
fn usage(body: &str) -> Value {
    events(body)
        .into_iter()
        .find(|event| event["usage"].is_object())
        .map(|event| event["usage"].clone())
        .unwrap_or(Value::Null)
}

fn cut_midway(reply: &str) -> Faults {
    Faults {
        mode: Mode::CutStream,
        cut_after: 6,
        chunk_interval_ms: 10,
        reply: reply.into(),
        ..Faults::default()
    }
}

fn replying(reply: &str) -> Faults {
    Faults {
        reply: reply.into(),
        ..Faults::default()
    }
}

#[tokio::test]
async fn a_stream_ended_without_done_after_its_finish_and_usage_is_whole() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::NoEnd,
        ..Faults::default()
    });
    let body = stream(&h).await;
    assert_eq!(content(&body), "primary here. You said: tell me");
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    assert!(!body.contains("\"error\""), "{body}");
    assert!(usage(&body)["total_tokens"].as_u64() > Some(0), "{body}");
    assert_eq!(h.mocks[1].control().counts().requests, 0, "not failed over");
    assert!(
        eventually(Duration::from_secs(2), || async {
            h.target("m0").await["counts"]["successes"] == 1
        })
        .await
    );
}

#[tokio::test]
async fn an_anthropic_stream_ended_without_message_stop_is_whole() {
    let h = crate::support::anthropic_and_openai().await;
    h.mocks[0].control().set(Faults {
        mode: Mode::NoEnd,
        ..Faults::default()
    });
    let response = messages(&h, "claude-first", json!({"stream": true})).await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    let body = response.text().await.unwrap();
    let kinds = event_types(&body);
    assert_eq!(
        kinds.iter().filter(|k| *k == "message_delta").count(),
        1,
        "{body}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("message_stop"),
        "{body}"
    );
    assert_eq!(h.mocks[1].control().counts().requests, 0, "not failed over");
}

#[tokio::test]
async fn a_stream_cut_after_its_finish_but_before_the_usage_asked_for_is_not_whole() {
    // No usage chunk and no [DONE]: a stream that asked for usage and did
    // not get it cannot be told from a cut one.
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::CutStream,
        // The role chunk, 6 words, the finish chunk: cut before the usage.
        cut_after: 8,
        chunk_interval_ms: 10,
        ..Faults::default()
    });
    let body = stream(&h).await;
    assert!(body.contains("stream_interrupted"), "{body}");
    assert!(!body.contains("[DONE]"), "{body}");
}

#[tokio::test]
async fn an_event_that_does_not_parse_never_reaches_the_client() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Malformed,
        cut_after: 3,
        ..Faults::default()
    });
    let body = stream(&h).await;
    for data in body.lines().filter_map(|line| line.strip_prefix("data: ")) {
        assert!(
            data == "[DONE]" || serde_json::from_str::<Value>(data).is_ok(),
            "relayed: {data}"
        );
    }
    assert_eq!(content(&body), "primary here. You said: tell me");
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    let metrics = scrape(&h).await;
    assert_eq!(
        value(
            &metrics,
            "steadfast_malformed_events_total",
            &[("target", "m0")]
        ),
        Some(1.0),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_continuation_that_starts_over_word_for_word_is_joined_once() {
    let h = Harness::start(&["primary", "secondary"], "", "stream_resume: true").await;
    h.mocks[0].control().set(cut_midway(ANSWER));
    // The secondary, asked to carry on, starts the same answer over.
    h.mocks[1].control().set(replying(ANSWER));
    let body = stream(&h).await;
    assert_eq!(content(&body), ANSWER, "the answer once, whole");
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    // The secondary's usage and the first part's (estimated) add up.
    let total = usage(&body)["completion_tokens"].as_u64().unwrap();
    let secondary = ANSWER.split_inclusive(' ').count() as u64;
    assert!(total > secondary, "both parts counted: {total}");
}

#[tokio::test]
async fn a_continuation_that_starts_over_and_departs_is_never_joined() {
    let h = Harness::start(
        &["primary", "secondary", "tertiary"],
        "",
        "stream_resume: true",
    )
    .await;
    h.mocks[0].control().set(cut_midway(ANSWER));
    // A model that restarts in its own words: not joinable.
    h.mocks[1].control().set(replying(
        "The gateway keeps working, whatever happens to its providers.",
    ));
    // The next carries on from the text sent.
    h.mocks[2].control().set(replying(
        "the provider behind it stalls, fails or rate-limits the caller.",
    ));
    let body = stream(&h).await;
    let text = content(&body);
    assert_eq!(text, ANSWER, "{body}");
    assert!(
        !text.contains("working"),
        "the departing restart was not joined"
    );

    // With no target left that carries it on: a clean error, never a
    // doubled or altered answer presented as whole.
    h.mocks[2].control().set(Faults {
        mode: Mode::Error,
        status: 503,
        ..Faults::default()
    });
    let body = stream(&h).await;
    assert!(body.contains("stream_interrupted"), "{body}");
    assert!(!body.contains("[DONE]"), "{body}");
    assert!(!content(&body).contains("working"), "{body}");
}

#[tokio::test]
async fn a_refused_prefill_is_asked_again_by_instruction_and_never_shown() {
    let h = crate::support::anthropic_and_openai_with(
        "  resumable: { targets: [m1, m0], stream_resume: true }\n",
    )
    .await;
    // The OpenAI model breaks; the Anthropic one (prefill by default) refuses
    // prefills as newer Claude models do.
    h.mocks[1].control().set(cut_midway(ANSWER));
    h.mocks[0].control().set(Faults {
        refuse_prefill: true,
        reply: "the provider behind it stalls, fails or rate-limits the caller.".into(),
        ..Faults::default()
    });
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "resumable", "stream": true,
                   "messages": [{"role": "user", "content": "tell me"}]}),
        )
        .await;
    let body = response.text().await.unwrap();
    assert_eq!(content(&body), ANSWER, "{body}");
    assert!(!body.contains("prefill"), "{body}");
    // Two calls: the refused prefill, then the instruction.
    assert_eq!(h.mocks[0].control().counts().requests, 2);
    let last = h.mocks[0].control().last_request().unwrap();
    let turns = last["messages"].as_array().unwrap();
    assert_eq!(turns.last().unwrap()["role"], "user", "{last}");

    // From then on the model is asked by instruction at once.
    let again = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "resumable", "stream": true,
                   "messages": [{"role": "user", "content": "tell me"}]}),
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(content(&again), ANSWER, "{again}");
    assert_eq!(h.mocks[0].control().counts().requests, 3);
}

#[tokio::test]
async fn a_recovered_model_is_back_in_service_without_a_client_trying_it() {
    let breaker = "circuit_breaker: { consecutive_failures: 2, open_for: 1s, half_open_calls: 2 }";
    let h = Harness::start(&["primary", "secondary"], breaker, "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 503,
        ..Faults::default()
    });
    for _ in 0..2 {
        assert_eq!(h.chat("hi").await.status(), 200);
    }
    assert_eq!(h.target("m0").await["breaker"], "open");
    // Down through its first probe: the open time grows (1 s, then 2 s).
    assert!(
        eventually(Duration::from_secs(5), || async {
            h.mocks[0].control().counts().requests >= 3
        })
        .await,
        "probed at the end of its open time"
    );
    let probe = h.mocks[0].control().last_request().unwrap();
    assert_eq!(probe["max_tokens"], 1, "a one-token generation: {probe}");
    h.mocks[0].control().set(Faults::default());
    let requests_before = h.mocks[1].control().counts().requests;
    assert!(
        eventually(Duration::from_secs(6), || async {
            h.target("m0").await["breaker"] == "closed"
        })
        .await,
        "closed by probes alone: {}",
        h.target("m0").await
    );
    assert_eq!(
        h.mocks[1].control().counts().requests,
        requests_before,
        "no client request meanwhile"
    );
    let metrics = scrape(&h).await;
    assert!(
        value(
            &metrics,
            "steadfast_recovery_probes_total",
            &[("target", "m0"), ("result", "success")]
        ) >= Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        header(&h.chat("back?").await, "x-steadfast-target"),
        "m0",
        "served by the primary again"
    );
}

#[tokio::test]
async fn a_model_whose_health_probes_fail_is_not_probed_for_recovery() {
    let settings = "circuit_breaker: { consecutive_failures: 1, open_for: 300ms }\nhealth_check: { interval: 200ms, timeout: 100ms, retries: 1 }";
    let h = Harness::start(&["primary", "secondary"], settings, "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 503,
        ..Faults::default()
    });
    assert_eq!(h.chat("hi").await.status(), 200);
    assert!(
        eventually(Duration::from_secs(3), || async {
            h.target("m0").await["health"] == "unhealthy"
        })
        .await
    );
    let requests = h.mocks[0].control().counts().requests;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        h.mocks[0].control().counts().requests,
        requests,
        "no generation sent to a model its health probes find down"
    );
}

#[tokio::test]
async fn with_same_target_a_first_5xx_is_retried_on_the_same_model() {
    let h = Harness::start(
        &["primary", "secondary"],
        "",
        "retry: { same_target: {}, initial_backoff: 10ms }",
    )
    .await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 500,
        times: 1,
        ..Faults::default()
    });
    let response = h.chat("hi").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    assert_eq!(header(&response, "x-steadfast-attempts"), "2");
    assert_eq!(h.mocks[1].control().counts().requests, 0);

    // Without it, the next model answers at once.
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 500,
        times: 1,
        ..Faults::default()
    });
    let response = h.chat("hi").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
}

#[tokio::test]
async fn with_same_target_a_short_retry_after_is_waited_for_and_a_long_one_is_not() {
    let route = "retry: { same_target: { max_wait: 2s } }";
    let h = Harness::start(&["primary", "secondary"], "", route).await;
    h.mocks[0].control().set(Faults {
        mode: Mode::RateLimit,
        retry_after: 1,
        times: 1,
        ..Faults::default()
    });
    let started = tokio::time::Instant::now();
    let response = h.chat("hi").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited for Retry-After: {:?}",
        started.elapsed()
    );
    h.mocks[0].control().set(Faults {
        mode: Mode::RateLimit,
        retry_after: 30,
        times: 1,
        ..Faults::default()
    });
    let response = h.chat("hi").await;
    assert_eq!(
        header(&response, "x-steadfast-target"),
        "m1",
        "30 s is past max_wait"
    );
    assert_eq!(header(&response, "x-steadfast-attempts"), "2");
}

#[tokio::test]
async fn a_content_filter_refusal_reaches_the_client_with_the_providers_code() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 400,
        error_body: Some(json!({"error": {
            "message": "Your request was rejected as a result of our safety system.",
            "type": "invalid_request_error", "param": null, "code": "content_policy_violation"}})),
        ..Faults::default()
    });
    let response = h.chat("something unsafe").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "content_policy_violation", "{body}");
    assert_eq!(h.mocks[0].control().counts().requests, 1, "not retried");
    assert_eq!(h.mocks[1].control().counts().requests, 0, "not failed over");
}

#[tokio::test]
async fn a_stream_broken_after_its_finish_is_not_carried_on() {
    // The answer told its finish; only the usage asked for is missing. A
    // continuation would add text after the end: the stream ends in error.
    let h = Harness::start(&["primary", "secondary"], "", "stream_resume: true").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::CutStream,
        // The role chunk, 6 words, the finish chunk: cut before the usage.
        cut_after: 8,
        chunk_interval_ms: 10,
        ..Faults::default()
    });
    let body = stream(&h).await;
    assert!(body.contains("stream_interrupted"), "{body}");
    assert_eq!(h.mocks[1].control().counts().requests, 0, "no continuation");
}

#[tokio::test]
async fn a_probe_refused_as_a_request_is_not_repeated_every_tick() {
    let breaker = "circuit_breaker: { consecutive_failures: 1, open_for: 3s }";
    let h = Harness::start(&["primary", "secondary"], breaker, "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 503,
        ..Faults::default()
    });
    assert_eq!(h.chat("hi").await.status(), 200);
    // From now on the model refuses every request as invalid: a probe of it
    // says nothing of its health, and is not sent again for an open time.
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 400,
        ..Faults::default()
    });
    tokio::time::sleep(Duration::from_secs(6)).await;
    let probes = h.mocks[0].control().counts().requests - 1;
    assert!((1..=2).contains(&probes), "{probes} probes in 6 s");
}
