//! Real client libraries against the gateway: OpenAI's official Python SDK,
//! installed into `.venv` by `scripts/setup`.

use steadfast_mock::{Faults, Mode};

use crate::support::{Harness, run_script};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_plain_and_streamed_through_failover() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    // The primary fails: every SDK call is answered by the secondary.
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 500,
        ..Faults::default()
    });
    run_script("openai_sdk.py", &[&h.url("/v1")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_responses_plain_and_streamed_through_failover() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 500,
        ..Faults::default()
    });
    run_script("responses_sdk.py", &[&h.url("/v1")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdks_read_stale_and_static_answers_plain_and_streamed() {
    const MESSAGE: &str = "We are busy right now: please try again in a minute.";
    let mocks = crate::support::mocks(&["primary"]).await;
    let mut yaml = crate::support::config_yaml(&mocks, "", "cache: { mode: stale_if_error }");
    yaml.push_str(&format!(
        "  polite:\n    targets: [m0]\n    last_answer: {{ message: \"{MESSAGE}\" }}\n"
    ));
    let h = Harness::with_config(mocks, &yaml).await;
    let kept: serde_json::Value = h
        .post_json(
            "/v1/chat/completions",
            serde_json::json!({"model": "chat", "temperature": 0,
                "messages": [{"role": "user", "content": "asked before the outage"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let kept = kept["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 503,
        ..Faults::default()
    });
    run_script("degraded_sdk.py", &[&h.url(""), MESSAGE, &kept]).await;
}
