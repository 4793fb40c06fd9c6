//! Azure OpenAI providers (`kind: azure`) end to end against a simulated
//! Azure resource: deployment URLs with `api-version` and the v1 API, the
//! `api-key` header or an Entra ID bearer token, Azure's quota 429 failing
//! over to OpenAI, a content-filter refusal going back to the client, the
//! content filter's annotations and a withheld answer reaching it, OpenAI's
//! official `AzureOpenAI` client against the simulated resource, health
//! probes on the resource's model list, and the key in no answer, status or
//! metric.

use std::time::Duration;

use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_mock::{Faults, MockOptions, MockServer, Mode};

use crate::support::{Harness, eventually, header};

const AZURE_KEY: &str = "azure-key-DO-NOT-LEAK-0a1b2c3d";
const ENTRA_TOKEN: &str = "entra-token-DO-NOT-LEAK-9z8y7x";

/// An Azure resource `az` (deployment URLs, `api-version`) and an OpenAI
/// provider `oai`; models `gpt-azure` (deployment `gpt4o-prod`) and
/// `gpt-openai`; route `chat` over both in that order.
async fn azure_then_openai(model_extra: &str) -> Harness {
    let azure = MockServer::start(MockOptions {
        kind: ProviderKind::Azure,
        ..MockOptions::named("azure")
    })
    .await
    .unwrap();
    let openai = MockServer::start(MockOptions::named("openai"))
        .await
        .unwrap();
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}
providers:
  az: {{ kind: azure, base_url: \"{}\", api_key: \"{AZURE_KEY}\", api_version: \"2024-10-21\" }}
  oai: {{ kind: openai, base_url: \"{}\" }}
models:
  gpt-azure: {{ provider: az, model: gpt4o-prod{model_extra} }}
  gpt-openai: {{ provider: oai, model: gpt-4o }}
routes:
  chat: {{ targets: [gpt-azure, gpt-openai], retry: {{ max_attempts: 1 }} }}
",
        azure.base_url(),
        openai.base_url()
    );
    Harness::with_config(vec![azure, openai], &yaml).await
}

#[tokio::test]
async fn deployment_urls_carry_the_deployment_the_api_version_and_the_api_key() {
    let h = azure_then_openai("").await;
    let response = h.chat("hello azure").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "gpt-azure");
    let body: Value = response.json().await.unwrap();
    assert!(
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("azure here."),
        "{body}"
    );
    let azure = h.mocks[0].control();
    assert_eq!(
        azure.last_uri().unwrap(),
        "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(azure.last_header("api-key").unwrap(), AZURE_KEY);
    assert_eq!(azure.last_header("authorization"), None);

    // Streamed, and embeddings, at the same deployment.
    let streamed = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(header(&streamed, "x-steadfast-target"), "gpt-azure");
    assert!(streamed.text().await.unwrap().contains("[DONE]"));
    let embedded = h
        .post_json("/v1/embeddings", json!({"model": "chat", "input": "hi"}))
        .await;
    assert_eq!(embedded.status(), 200);
    assert_eq!(
        azure.last_uri().unwrap(),
        "/openai/deployments/gpt4o-prod/embeddings?api-version=2024-10-21"
    );
    assert_eq!(h.mocks[1].control().counts().requests, 0);
}

#[tokio::test]
async fn the_v1_api_with_an_entra_id_token() {
    let azure = MockServer::start(MockOptions {
        kind: ProviderKind::Azure,
        ..MockOptions::named("azure")
    })
    .await
    .unwrap();
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}
providers:
  az: {{ kind: azure, base_url: \"{}\", bearer_token: \"{ENTRA_TOKEN}\" }}
models:
  gpt-azure: {{ provider: az, model: gpt4o-prod }}
routes:
  chat: {{ targets: [gpt-azure] }}
",
        azure.base_url()
    );
    let h = Harness::with_config(vec![azure], &yaml).await;
    assert_eq!(h.chat("hello").await.status(), 200);
    let azure = h.mocks[0].control();
    assert_eq!(azure.last_uri().unwrap(), "/openai/v1/chat/completions");
    assert_eq!(
        azure.last_header("authorization").unwrap(),
        format!("Bearer {ENTRA_TOKEN}")
    );
    assert_eq!(azure.last_request().unwrap()["model"], "gpt4o-prod");
}

#[tokio::test]
async fn a_quota_429_fails_over_and_cools_the_deployment_down() {
    let h = azure_then_openai("").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::RateLimit,
        retry_after: 30,
        ..Faults::default()
    });
    let response = h.chat("hello").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "gpt-openai");
    let azure = h.target("gpt-azure").await;
    assert!(
        azure["cooling_down_ms"].as_u64().unwrap() > 20_000,
        "Retry-After is honoured: {azure}"
    );
    // Cooling down: skipped without a call.
    let before = h.mocks[0].control().counts().requests;
    assert_eq!(
        header(&h.chat("again").await, "x-steadfast-target"),
        "gpt-openai"
    );
    assert_eq!(h.mocks[0].control().counts().requests, before);
}

#[tokio::test]
async fn a_content_filter_refusal_is_the_clients_answer() {
    let h = azure_then_openai("").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 400,
        error_body: Some(json!({"error": {
            "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
            "type": null, "param": "prompt", "code": "content_filter", "status": 400,
            "innererror": {"code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {"hate": {"filtered": true, "severity": "high"}}}
        }})),
        ..Faults::default()
    });
    let response = h.chat("something filtered").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("content management policy"), "{body}");
    assert_eq!(h.mocks[1].control().counts().requests, 0, "not failed over");
    assert_eq!(h.target("gpt-azure").await["window_failure_rate"], 0.0);
}

/// Azure's content-filter annotations (the prompt's verdicts beside the
/// choices, and alone in a stream's first chunk) pass to an OpenAI client
/// and do not become a translated answer's start; an answer the filter
/// withholds is the client's, in its own terms, and is not failed over.
#[tokio::test]
async fn content_filter_annotations_and_a_withheld_answer_reach_the_client() {
    let h = azure_then_openai("").await;
    let body: Value = h.chat("hello azure").await.json().await.unwrap();
    assert_eq!(
        body["prompt_filter_results"][0]["prompt_index"], 0,
        "{body}"
    );
    assert_eq!(
        body["choices"][0]["content_filter_results"]["hate"]["severity"],
        "safe"
    );
    let streamed = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    let chunks = crate::support::events(&streamed.text().await.unwrap());
    assert_eq!(chunks[0]["choices"], json!([]), "{chunks:?}");
    let text: String = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "azure here. You said: hi");
    // An Anthropic client's message starts with the answer's id, not the
    // blank one of the verdicts' chunk.
    let streamed = h
        .post_json(
            "/v1/messages",
            json!({"model": "chat", "max_tokens": 50, "stream": true,
                   "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    let events = crate::support::events(&streamed.text().await.unwrap());
    assert_eq!(events[0]["type"], "message_start", "{events:?}");
    assert_eq!(events[0]["message"]["id"], "chatcmpl-mock", "{events:?}");

    h.mocks[0].control().set_mode(Mode::SafetyBlock);
    let response = h.chat("something filtered").await;
    assert_eq!(header(&response, "x-steadfast-target"), "gpt-azure");
    let body: Value = response.json().await.unwrap();
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "content_filter", "{body}");
    assert_eq!(
        choice["content_filter_results"]["protected_material_text"]["filtered"],
        true
    );
    let message: Value = h
        .post_json(
            "/v1/messages",
            json!({"model": "chat", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(message["stop_reason"], "refusal", "{message}");
    assert_eq!(h.mocks[1].control().counts().requests, 0, "not failed over");
}

/// OpenAI's official `AzureOpenAI` client reads the simulated resource (its
/// default request taken, annotations, tool calls and a withheld answer
/// parsed), and an OpenAI client reads the gateway in front of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_azure_client_reads_the_resource_and_the_gateway_in_front() {
    let h = azure_then_openai("").await;
    let resource = h.mocks[0].base_url();
    crate::support::run_script("azure_openai.py", &[&resource, &h.url(""), AZURE_KEY]).await;
    let azure = h.mocks[0].control();
    assert_eq!(
        azure.last_uri().unwrap(),
        "/openai/deployments/sdk-deployment/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(azure.last_header("api-key").unwrap(), AZURE_KEY);
    assert!(
        azure
            .last_header("user-agent")
            .is_some_and(|agent| agent.starts_with("AzureOpenAI/Python")),
        "{:?}",
        azure.last_header("user-agent")
    );
    assert_eq!(h.mocks[1].control().counts().requests, 0);
}

#[tokio::test]
async fn probes_read_the_resources_model_list_and_the_key_shows_nowhere() {
    let h = azure_then_openai(", health_check: { interval: 100ms, timeout: 1s, retries: 1 }").await;
    assert!(
        eventually(Duration::from_secs(3), || async {
            h.mocks[0].control().counts().model_lists >= 2
        })
        .await
    );
    assert_eq!(h.target("gpt-azure").await["health"], "healthy");
    // A key refused upstream: failed over, and named nowhere.
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 401,
        error_body: Some(json!({"error": {"code": "401", "message": format!("Access denied for key {AZURE_KEY}")}})),
        ..Faults::default()
    });
    let response = h.chat("hello").await;
    assert_eq!(header(&response, "x-steadfast-target"), "gpt-openai");
    for path in ["/api/status", "/metrics", "/v1/models"] {
        let text = h
            .client
            .get(h.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains(AZURE_KEY), "{path} shows the key");
    }
    h.mocks[1].control().set(Faults {
        mode: Mode::Error,
        status: 500,
        ..Faults::default()
    });
    let failed = h.chat("hello").await.text().await.unwrap();
    assert!(!failed.contains(AZURE_KEY), "{failed}");
}
