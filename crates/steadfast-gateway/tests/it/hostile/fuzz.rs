//! Arbitrary request bodies sent to every model endpoint of the running
//! binary: each gets a clear answer (an answer, or a 4xx with an error
//! message in the endpoint's shape), never a 5xx, a hang or a crash, and
//! the gateway keeps serving.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{Map, Value};

use super::{Binary, LOOPBACK, config};

const ENDPOINTS: [&str; 5] = [
    "/v1/chat/completions",
    "/v1/messages",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/completions",
];

/// Keys the parsers look for, so arbitrary bodies reach deep code.
const KEYS: [&str; 20] = [
    "model",
    "messages",
    "role",
    "content",
    "type",
    "text",
    "stream",
    "max_tokens",
    "input",
    "prompt",
    "tools",
    "tool_choice",
    "function",
    "name",
    "arguments",
    "system",
    "instructions",
    "response_format",
    "temperature",
    "stream_options",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("chat".to_owned()),
            Just("user".to_owned()),
            Just("assistant".to_owned()),
            Just("tool".to_owned()),
            Just("json_schema".to_owned()),
            ".{0,16}",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::vec((prop::sample::select(&KEYS[..]), inner), 0..7).prop_map(
                |members| {
                    Value::Object(
                        members
                            .into_iter()
                            .map(|(key, value)| (key.to_owned(), value))
                            .collect::<Map<_, _>>(),
                    )
                }
            ),
        ]
    })
}

/// A body: JSON routed to `chat` (most of the time), any JSON, or any bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => json().prop_map(|value| {
            let mut value = value;
            if let Value::Object(map) = &mut value {
                map.entry("model").or_insert_with(|| Value::from("chat"));
            }
            value.to_string().into_bytes()
        }),
        2 => json().prop_map(|value| value.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// The body's answer on `endpoint`: clear, or the reason it is not.
async fn check(
    client: &reqwest::Client,
    gateway: &Binary,
    endpoint: &str,
    body: &[u8],
) -> Result<(), TestCaseError> {
    let answer = client
        .post(gateway.at(endpoint))
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .map_err(|error| TestCaseError::fail(format!("{endpoint}: no answer: {error}")))?;
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    prop_assert!(
        status.is_success() || status.is_client_error(),
        "{endpoint} answered {status}: {text} to {}",
        String::from_utf8_lossy(body)
    );
    if status.is_client_error() {
        let error: Value = serde_json::from_str(&text).unwrap_or_default();
        let message = error["error"]["message"].as_str().unwrap_or_default();
        prop_assert!(
            !message.is_empty(),
            "{endpoint} {status} without a message: {text}"
        );
    }
    Ok(())
}

#[test]
fn any_body_to_any_model_endpoint_gets_a_clear_answer() {
    // One gateway for every case; the runtime and the process end with the test.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_mocks, gateway) = runtime.block_on(async {
        let mocks = crate::support::mocks(&["fuzzed"]).await;
        let yaml = config(&mocks, LOOPBACK, "max_body_bytes: 65536", "", "");
        (mocks, Binary::start(&yaml).await)
    });
    let client = runtime.block_on(async {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    });
    let mut runner = TestRunner::new(ProptestConfig::with_cases(300));
    let cases = (prop::sample::select(&ENDPOINTS[..]), body());
    let result = runner.run(&cases, |(endpoint, body)| {
        runtime.block_on(check(&client, &gateway, endpoint, &body))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let health = runtime
        .block_on(async { client.get(gateway.at("/health")).send().await })
        .unwrap();
    assert!(
        health.status().is_success(),
        "the fuzzed gateway stopped serving"
    );
}
