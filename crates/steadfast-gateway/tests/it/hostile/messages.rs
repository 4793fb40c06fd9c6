//! A provider whose error text carries what no client may see (another
//! tenant's ids, internal addresses, credentials): the client gets the sense
//! of it, and none of that.

use reqwest::StatusCode;
use serde_json::{Value, json};
use steadfast_mock::{Faults, Mode};

use super::{Binary, LOOPBACK, config};
use crate::support::{SECRET_KEY, mocks};

const HOSTILE: &str = "Invalid value for 'temperature' (org-AbCd1234, proj_XyZ9876): \
    your key sk-proj-0123456789abcdefghij was refused; debug at \
    https://internal.corp.example.com/trace?token=abc on 10.20.30.40:8443, \
    ask oncall@provider.example.com, request 2f1c6a2e-8c1b-4a4e-9c7d-1f2e3d4c5b6a, \
    Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln AKIAIOSFODNN7EXAMPLE";

const LEAKS: [&str; 11] = [
    "org-AbCd1234",
    "proj_XyZ9876",
    "sk-proj-0123456789",
    "internal.corp",
    "token=abc",
    "10.20.30.40",
    "oncall@",
    "2f1c6a2e",
    "eyJhbGci",
    "AKIAIOSFODNN7EXAMPLE",
    SECRET_KEY,
];

fn assert_clean(text: &str) {
    for leak in LEAKS {
        assert!(!text.contains(leak), "{leak} reached the client: {text}");
    }
}

#[tokio::test]
async fn a_hostile_provider_message_reaches_the_client_cleaned() {
    let mocks = mocks(&["hostile"]).await;
    let body = json!({"error": {"message": format!("{HOSTILE} {SECRET_KEY}"), "type": "invalid_request_error"}});
    mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 400,
        error_body: Some(body.clone()),
        ..Faults::default()
    });
    let gateway = Binary::start(&config(&mocks, LOOPBACK, "", "", "")).await;
    let client = reqwest::Client::new();

    // Plain, OpenAI's shape: the provider's words, cleaned.
    let answer = client
        .post(gateway.at("/v1/chat/completions"))
        .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let error: Value = answer.json().await.unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Invalid value for 'temperature'"),
        "{message}"
    );
    assert_clean(message);

    // Anthropic's shape, same words.
    let answer = client
        .post(gateway.at("/v1/messages"))
        .json(&json!({"model": "chat", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert_clean(&answer.text().await.unwrap());

    // An error event inside a stream, after the first token.
    mocks[0].control().set(Faults {
        mode: Mode::StreamError,
        cut_after: 2,
        error_body: Some(body),
        ..Faults::default()
    });
    let answer = client
        .post(gateway.at("/v1/chat/completions"))
        .json(&json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let text = answer.text().await.unwrap();
    assert!(text.contains("error"), "{text}");
    assert_clean(&text);
    assert_clean(&gateway.logs());
    let status = client
        .get(gateway.at("/api/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_clean(&status);
}

/// Keys that look like no key (no prefix, no capitals): only their
/// configured value can find them.
const PLAIN_KEY: &str = "hunter2hunter2hunter2";
const OTHER_KEY: &str = "correct-horse-battery-staple";

/// A provider's error text echoing its own configured key (and another
/// provider's), in structured forms and where the cut at 300 characters
/// would split it: masked whole, before any cut, on the plain and the
/// streamed path and in the log.
#[tokio::test]
async fn configured_keys_are_masked_whole_on_every_path_before_any_cut() {
    let mocks = mocks(&["leaky", "other"]).await;
    // Words up to about where the message is cut at 300 characters.
    let filler = "the model could not take it ".repeat(10);
    let message = format!(
        "{filler} {PLAIN_KEY} refused; host=gpu-7.internal client_ip:10.9.8.7 \
         tenant=org-Tenant1234 other={OTHER_KEY} via //intranet.example.com/trace"
    );
    let body = json!({"error": {"message": message, "type": "invalid_request_error"}});
    mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 400,
        error_body: Some(body.clone()),
        ..Faults::default()
    });
    let yaml = format!(
        "server: {{ listen: \"{LOOPBACK}\" }}
providers:
  p0: {{ kind: openai, base_url: \"{}\", api_key: \"{PLAIN_KEY}\" }}
  p1: {{ kind: openai, base_url: \"{}\", api_key: \"{OTHER_KEY}\" }}
models:
  m0: {{ provider: p0, model: leaky }}
  m1: {{ provider: p1, model: other }}
routes:
  chat: {{ targets: [m0] }}
",
        mocks[0].base_url(),
        mocks[1].base_url()
    );
    let gateway = Binary::start(&yaml).await;
    let client = reqwest::Client::new();
    let leaks = [
        &PLAIN_KEY[..8],
        &OTHER_KEY[..12],
        "gpu-7",
        "10.9.8.7",
        "org-Tenant1234",
        "intranet",
    ];
    let assert_masked = |text: &str| {
        for leak in leaks {
            assert!(!text.contains(leak), "{leak} reached the client: {text}");
        }
    };
    let plain = client
        .post(gateway.at("/v1/chat/completions"))
        .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        plain.contains("could not take it"),
        "the message itself reached: {plain}"
    );
    assert_masked(&plain);

    // The same text in an error event inside a stream.
    mocks[0].control().set(Faults {
        mode: Mode::StreamError,
        cut_after: 2,
        error_body: Some(json!({"error": {"message": format!("{PLAIN_KEY} {message}")}})),
        ..Faults::default()
    });
    let streamed = client
        .post(gateway.at("/v1/chat/completions"))
        .json(&json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(streamed.contains("error"), "{streamed}");
    assert_masked(&streamed);
    assert_masked(&gateway.logs());
}
