//! Failover across every kind of provider in one route: Azure OpenAI,
//! OpenAI, Bedrock and Gemini behind route `mixed`, each a simulated
//! provider speaking its own wire format. Plain and streamed requests fail
//! over down the list, a broken stream resumes on a provider of another
//! kind, a quorum gathers answers from three kinds, and each kind's usage is
//! counted.

use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_mock::{Faults, MOCK_AWS_SECRET, MockOptions, MockServer, Mode};

use crate::support::observe::{scrape, value};
use crate::support::{Harness, header};

/// Providers of four kinds, models `k-azure`, `k-openai`, `k-bedrock`,
/// `k-gemini` (in that order in every route), routes `mixed` (sequential,
/// `route_extra` under it) and `vote` (a quorum of two over three kinds).
async fn four_kinds(route_extra: &str) -> Harness {
    let mut mocks = Vec::new();
    for (kind, name) in [
        (ProviderKind::Azure, "azure"),
        (ProviderKind::Openai, "openai"),
        (ProviderKind::Bedrock, "bedrock"),
        (ProviderKind::Gemini, "gemini"),
    ] {
        let options = MockOptions {
            kind,
            ..MockOptions::named(name)
        };
        mocks.push(MockServer::start(options).await.unwrap());
    }
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}
providers:
  az: {{ kind: azure, base_url: \"{}\", api_key: az-key-123, api_version: \"2024-10-21\" }}
  oa: {{ kind: openai, base_url: \"{}\" }}
  br: {{ kind: bedrock, base_url: \"{}\", region: us-east-1, access_key_id: AKIAKINDS, secret_access_key: {MOCK_AWS_SECRET} }}
  ge: {{ kind: gemini, base_url: \"{}\", api_key: ge-key-123 }}
models:
  k-azure: {{ provider: az, model: gpt4o-deploy }}
  k-openai: {{ provider: oa, model: gpt-4o }}
  k-bedrock: {{ provider: br, model: \"anthropic.claude-3-haiku-20240307-v1:0\" }}
  k-gemini: {{ provider: ge, model: gemini-2.0-flash }}
routes:
  mixed:
    targets: [k-azure, k-openai, k-bedrock, k-gemini]
    retry: {{ max_attempts: 1 }}
{route_extra}
  vote: {{ strategy: quorum, quorum: 2, targets: [k-azure, k-bedrock, k-gemini] }}
",
        mocks[0].base_url(),
        mocks[1].base_url(),
        mocks[2].base_url(),
        mocks[3].base_url(),
    );
    Harness::with_config(mocks, &yaml).await
}

fn fail(h: &Harness, index: usize, mode: Mode, status: u16) {
    h.mocks[index].control().set(Faults {
        mode,
        status,
        ..Faults::default()
    });
}

fn content(chunks: &str) -> String {
    chunks
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn requests_fail_over_down_four_kinds_plain_and_streamed() {
    let h = four_kinds("").await;
    let chat = |stream: bool| {
        h.post_json(
            "/v1/chat/completions",
            json!({"model": "mixed", "stream": stream, "stream_options": {"include_usage": true},
                   "messages": [{"role": "user", "content": "who answers?"}]}),
        )
    };
    let served = |response: &reqwest::Response| header(response, "x-steadfast-target");
    assert_eq!(served(&chat(false).await), "k-azure");
    fail(&h, 0, Mode::Error, 503);
    assert_eq!(served(&chat(false).await), "k-openai");
    fail(&h, 1, Mode::Error, 500);
    assert_eq!(served(&chat(false).await), "k-bedrock");
    fail(&h, 2, Mode::RateLimit, 429);
    let response = chat(false).await;
    assert_eq!(served(&response), "k-gemini");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "gemini here. You said: who answers?"
    );

    // Streamed: the same failover before the first token, then each kind's
    // stream translated into OpenAI chunks.
    let streamed = chat(true).await;
    assert_eq!(served(&streamed), "k-gemini");
    assert_eq!(header(&streamed, "x-steadfast-attempts"), "4");
    assert_eq!(
        content(&streamed.text().await.unwrap()),
        "gemini here. You said: who answers?"
    );
    h.mocks[2].control().set(Faults::default());
    let streamed = chat(true).await;
    assert_eq!(served(&streamed), "k-bedrock");
    assert_eq!(
        content(&streamed.text().await.unwrap()),
        "bedrock here. You said: who answers?"
    );

    // Every kind that served counted the tokens it reported.
    let text = scrape(&h).await;
    for target in ["k-azure", "k-openai", "k-bedrock", "k-gemini"] {
        let tokens = value(
            &text,
            "steadfast_tokens_total",
            &[("target", target), ("direction", "out")],
        );
        assert!(
            tokens.unwrap_or(0.0) > 0.0,
            "{target} reported no usage: {text}"
        );
    }
}

#[tokio::test]
async fn a_broken_stream_resumes_on_a_provider_of_another_kind() {
    let h = four_kinds("    stream_resume: true").await;
    h.mocks[0].control().set(Faults {
        mode: Mode::CutStream,
        cut_after: 3,
        chunk_interval_ms: 20,
        ..Faults::default()
    });
    fail(&h, 1, Mode::Error, 500);
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "mixed", "stream": true, "messages": [{"role": "user", "content": "tell me"}]}),
        )
        .await;
    assert_eq!(header(&response, "x-steadfast-target"), "k-azure");
    let body = response.text().await.unwrap();
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    let text = content(&body);
    assert!(
        text.starts_with("azure here. bedrock here."),
        "one spliced answer: {text}"
    );
    // The continuation reached Bedrock in its own format: a Claude model
    // there continues the partial answer as the start of its own turn
    // (prefill), its trailing blank trimmed as Anthropic requires.
    let continuation = h.mocks[2].control().last_request().unwrap();
    let messages = continuation["messages"].as_array().unwrap();
    let last = &messages[messages.len() - 1];
    assert_eq!(last["role"], "assistant", "{continuation}");
    assert_eq!(last["content"][0]["text"], "azure here.");
}

#[tokio::test]
async fn a_quorum_gathers_answers_from_three_kinds() {
    let h = four_kinds("").await;
    fail(&h, 0, Mode::Error, 503);
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "vote", "messages": [{"role": "user", "content": "vote"}]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let mut voters: Vec<&str> = body["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|choice| choice["model"].as_str().unwrap())
        .collect();
    voters.sort_unstable();
    assert_eq!(voters, ["k-bedrock", "k-gemini"], "{body}");
}

#[tokio::test]
async fn a_json_answer_is_asked_of_each_kind_in_its_terms_or_not_at_all() {
    let h = four_kinds("  solo: { targets: [k-bedrock] }").await;
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"], "additionalProperties": false});
    // A Responses client's text.format reaches Azure as response_format.
    let response = h
        .post_json(
            "/v1/responses",
            json!({"model": "mixed", "input": "where?",
                   "text": {"format": {"type": "json_schema", "name": "place", "schema": schema, "strict": true}}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "k-azure");
    assert_eq!(
        h.mocks[0].control().last_request().unwrap()["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "place", "schema": schema, "strict": true}})
    );
    // With both OpenAI kinds down, Bedrock cannot be asked for JSON and is
    // passed over unasked; Gemini is asked in its own terms.
    fail(&h, 0, Mode::Error, 503);
    fail(&h, 1, Mode::Error, 503);
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "mixed", "messages": [{"role": "user", "content": "where?"}],
                   "response_format": {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "k-gemini");
    assert_eq!(
        h.mocks[2].control().counts().requests,
        0,
        "Bedrock was asked"
    );
    let sent = h.mocks[3].control().last_request().unwrap();
    assert_eq!(
        sent["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(sent["generationConfig"]["responseJsonSchema"], schema);
    // With Gemini down too, Bedrock is still not asked: nothing answers.
    fail(&h, 3, Mode::Error, 503);
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "mixed", "messages": [{"role": "user", "content": "where?"}],
                   "response_format": {"type": "json_object"}}),
        )
        .await;
    assert_eq!(response.status(), 503);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("k-bedrock: skipped (untranslatable)"),
        "{body}"
    );
    // A route whose every target cannot carry the request: the request is
    // at fault, and the answer says why.
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "solo", "messages": [{"role": "user", "content": "where?"}],
                   "response_format": {"type": "json_object"}}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("No target of route \"solo\" can take this request")
            && message.contains("JSON response format"),
        "{body}"
    );
    assert_eq!(
        h.mocks[2].control().counts().requests,
        0,
        "Bedrock was asked"
    );
}

/// The tool conversation every OpenAI client replays — a system prompt, a
/// tool, the assistant's call with `content: ""`, the tool's result and a
/// follow-up — sent by the official OpenAI SDK through the gateway to a
/// route over each kind of provider, each answering. The simulated
/// providers refuse what their services refuse (blank text, turns out of
/// order, tool blocks without tools), and what the gateway sent Bedrock and
/// Gemini is judged by their official SDKs' own schemas (botocore's service
/// model, google-genai's types), which also read the simulated providers'
/// answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_openai_sdk_replays_a_tool_conversation_to_every_kind() {
    let (pem, public_key) = crate::support::rsa_key_pair();
    let mut mocks = Vec::new();
    for (kind, name) in [
        (ProviderKind::Openai, "openai"),
        (ProviderKind::Azure, "azure"),
        (ProviderKind::Anthropic, "anthropic"),
        (ProviderKind::Gemini, "gemini"),
        (ProviderKind::Bedrock, "bedrock"),
        (ProviderKind::Vertex, "vertex"),
    ] {
        let options = MockOptions {
            kind,
            google_public_key: Some(public_key.clone()),
            ..MockOptions::named(name)
        };
        mocks.push(MockServer::start(options).await.unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("service-account.json");
    let account = json!({"type": "service_account", "project_id": "p", "private_key": pem,
        "client_email": "gw@p.iam.gserviceaccount.com",
        "token_uri": format!("{}/token", mocks[5].base_url())});
    std::fs::write(&key_file, account.to_string()).unwrap();
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}
providers:
  oa: {{ kind: openai, base_url: \"{}\" }}
  az: {{ kind: azure, base_url: \"{}\", api_key: az-key, api_version: \"2024-10-21\" }}
  an: {{ kind: anthropic, base_url: \"{}\", api_key: an-key }}
  ge: {{ kind: gemini, base_url: \"{}\", api_key: ge-key }}
  br: {{ kind: bedrock, base_url: \"{}\", region: us-east-1, access_key_id: AKIATOOLS, secret_access_key: {MOCK_AWS_SECRET} }}
  vg: {{ kind: vertex, base_url: \"{vertex}\", project: p, region: us-central1, credentials_file: {key:?} }}
  va: {{ kind: vertex, base_url: \"{vertex}\", project: p, region: us-central1, publisher: anthropic, credentials_file: {key:?} }}
models:
  openai: {{ provider: oa, model: gpt-4o }}
  azure: {{ provider: az, model: gpt4o-deploy }}
  anthropic: {{ provider: an, model: claude-sonnet-4-5 }}
  gemini: {{ provider: ge, model: gemini-2.0-flash }}
  bedrock: {{ provider: br, model: \"anthropic.claude-3-haiku-20240307-v1:0\" }}
  vertex-gemini: {{ provider: vg, model: gemini-2.0-flash }}
  vertex-claude: {{ provider: va, model: \"claude-3-5-sonnet@20240620\" }}
routes:
  r-openai: {{ targets: [openai], retry: {{ max_attempts: 1 }} }}
  r-azure: {{ targets: [azure], retry: {{ max_attempts: 1 }} }}
  r-anthropic: {{ targets: [anthropic], retry: {{ max_attempts: 1 }} }}
  r-gemini: {{ targets: [gemini], retry: {{ max_attempts: 1 }} }}
  r-bedrock: {{ targets: [bedrock], retry: {{ max_attempts: 1 }} }}
  r-vertex-gemini: {{ targets: [vertex-gemini], retry: {{ max_attempts: 1 }} }}
  r-vertex-claude: {{ targets: [vertex-claude], retry: {{ max_attempts: 1 }} }}
",
        mocks[0].base_url(),
        mocks[1].base_url(),
        mocks[2].base_url(),
        mocks[3].base_url(),
        mocks[4].base_url(),
        vertex = mocks[5].base_url(),
        key = key_file.display().to_string(),
    );
    let h = Harness::with_config(mocks, &yaml).await;
    let routes = [
        "r-openai",
        "r-azure",
        "r-anthropic",
        "r-gemini",
        "r-bedrock",
        "r-vertex-gemini",
        "r-vertex-claude",
    ];
    let mut args = vec![h.url("/v1")];
    args.extend(routes.iter().map(|route| (*route).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::support::run_script("tool_conversation.py", &args).await;
    let sent = |index: usize| h.mocks[index].control().last_request().unwrap();
    for index in 0..h.mocks.len() {
        assert!(
            !sent(index).to_string().contains(r#""text":"""#),
            "{}",
            sent(index)
        );
    }

    // What the gateway sent, judged by each provider's official SDK (and the
    // simulated providers by the same SDKs, as clients).
    let dir = tempfile::tempdir().unwrap();
    let judged = [
        (
            4,
            "bedrock_official.py",
            "anthropic.claude-3-haiku-20240307-v1:0",
        ),
        (3, "gemini_official.py", "gemini-2.0-flash"),
    ];
    for (index, script, model) in judged {
        let path = dir.path().join(format!("{script}.json"));
        std::fs::write(&path, sent(index).to_string()).unwrap();
        let url = h.mocks[index].base_url();
        let args = [url.as_str(), path.to_str().unwrap(), model, MOCK_AWS_SECRET];
        crate::support::run_script(script, &args).await;
    }
}
