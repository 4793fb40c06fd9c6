//! The credentials of every kind of provider — an OpenAI key, an Azure key,
//! a Gemini key, AWS secret keys and session tokens, a service account's
//! private key — reach no log line, status, metric or error, in the real
//! binary with every provider failing; and `steadfast check` names what is
//! wrong with a provider block without quoting its secrets.

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use steadfast_config::ProviderKind;
use steadfast_mock::{Faults, MockOptions, MockServer, Mode};

use crate::support::{ServeProcess, eventually, free_port, rsa_key_pair};

const BIN: &str = env!("CARGO_BIN_EXE_steadfast");
const OPENAI_KEY: &str = "sk-proj-DO-NOT-LEAK-openai-0000";
const AZURE_KEY: &str = "azure-DO-NOT-LEAK-1111";
const GEMINI_KEY: &str = "gemini-DO-NOT-LEAK-2222";
const AWS_SECRET: &str = "aws-secret-DO-NOT-LEAK-3333";
const AWS_SESSION: &str = "aws-session-DO-NOT-LEAK-4444";

/// A simulated provider taking the credentials this test gives the
/// gateway: AWS calls signed with [`AWS_SECRET`], assertions signed by the
/// service account whose public key is `google_public_key`.
async fn mock(kind: ProviderKind, name: &str, google_public_key: &str) -> MockServer {
    MockServer::start(MockOptions {
        kind,
        aws_secret: AWS_SECRET.to_owned(),
        google_public_key: Some(google_public_key.to_owned()),
        ..MockOptions::named(name)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_of_any_kind_reaches_logs_status_metrics_or_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (pem, public_key) = rsa_key_pair();
    let openai = mock(ProviderKind::Openai, "openai", &public_key).await;
    let azure = mock(ProviderKind::Azure, "azure", &public_key).await;
    let gemini = mock(ProviderKind::Gemini, "gemini", &public_key).await;
    let bedrock = mock(ProviderKind::Bedrock, "bedrock", &public_key).await;
    let vertex = mock(ProviderKind::Vertex, "vertex", &public_key).await;
    let key_file = dir.path().join("sa.json");
    std::fs::write(
        &key_file,
        json!({"type": "service_account", "client_email": "gw@p.iam.gserviceaccount.com",
               "private_key": pem, "token_uri": format!("{}/token", vertex.base_url())})
        .to_string(),
    )
    .unwrap();
    let port = free_port();
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:{port}\" }}
providers:
  oa: {{ kind: openai, base_url: \"{}\", api_key: \"${{OPENAI_KEY}}\" }}
  az: {{ kind: azure, base_url: \"{}\", api_key: \"${{AZURE_KEY}}\" }}
  ge: {{ kind: gemini, base_url: \"{}\", api_key: \"${{GEMINI_KEY}}\" }}
  br: {{ kind: bedrock, base_url: \"{}\", region: us-east-1 }}
  vx: {{ kind: vertex, base_url: \"{}\", project: p, region: us-central1, credentials_file: {:?} }}
models:
  m-oa: {{ provider: oa, model: gpt-4o }}
  m-az: {{ provider: az, model: gpt-4o }}
  m-ge: {{ provider: ge, model: gemini-2.0-flash }}
  m-br: {{ provider: br, model: \"anthropic.claude-3-haiku-20240307-v1:0\" }}
  m-vx: {{ provider: vx, model: gemini-2.0-flash }}
routes:
  all: {{ targets: [m-oa, m-az, m-ge, m-br, m-vx], retry: {{ max_attempts: 1 }} }}
",
        openai.base_url(),
        azure.base_url(),
        gemini.base_url(),
        bedrock.base_url(),
        vertex.base_url(),
        key_file.display().to_string(),
    );
    let config = dir.path().join("steadfast.yaml");
    std::fs::write(&config, yaml).unwrap();
    let gateway = ServeProcess::start(
        &[],
        &config,
        port,
        &[
            ("OPENAI_KEY", OPENAI_KEY),
            ("AZURE_KEY", AZURE_KEY),
            ("GEMINI_KEY", GEMINI_KEY),
            ("AWS_ACCESS_KEY_ID", "AKIASECRETS"),
            ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
            ("AWS_SESSION_TOKEN", AWS_SESSION),
            ("STEADFAST_LOG", "debug"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let chat = |stream: bool| {
        client
            .post(format!("{}/v1/chat/completions", gateway.url))
            .json(&json!({"model": "all", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    // Each provider answers once, then every one fails in turn, its error
    // body quoting the credentials it was sent where it could.
    assert_eq!(chat(false).await.unwrap().status(), 200);
    for (mock, quoted) in [
        (&openai, OPENAI_KEY),
        (&azure, AZURE_KEY),
        (&gemini, GEMINI_KEY),
        (&bedrock, AWS_SECRET),
        (&vertex, AWS_SESSION),
    ] {
        mock.control().set(Faults {
            mode: Mode::Error,
            status: 400,
            error_body: Some(json!({"error": {"message": format!("bad request from key {quoted}")}, "message": format!("key {quoted}")})),
            ..Faults::default()
        });
    }
    let failed = chat(false).await.unwrap().text().await.unwrap();
    for mock in [&openai, &azure, &gemini, &bedrock, &vertex] {
        mock.control().set(Faults {
            mode: Mode::Error,
            status: 401,
            ..Faults::default()
        });
    }
    let refused = chat(true).await.unwrap().text().await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || async {
            vertex.control().counts().tokens >= 1
        })
        .await
    );
    let mut seen = vec![failed, refused];
    for path in ["/api/status", "/metrics", "/api/report", "/api/events"] {
        if path == "/api/events" {
            continue;
        }
        seen.push(
            client
                .get(format!("{}{path}", gateway.url))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    seen.push(gateway.terminate().await);
    let key_line = pem.lines().nth(1).unwrap();
    for text in &seen {
        for secret in [
            OPENAI_KEY,
            AZURE_KEY,
            GEMINI_KEY,
            AWS_SECRET,
            AWS_SESSION,
            key_line,
            "ya29.mock",
        ] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}

#[test]
fn check_names_the_file_key_and_reason_of_a_bad_provider_block() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("steadfast.yaml");
    std::fs::write(
        &config,
        format!(
            "providers:
  br: {{ kind: bedrock, region: mars-north-9, access_key_id: AKIA1, secret_access_key: \"{AWS_SECRET}\" }}
  vx: {{ kind: vertex, project: p, region: us-central1, credentials_file: /nonexistent/sa.json }}
  az: {{ kind: azure, base_url: \"https://r.openai.azure.com\" }}
models:
  a: {{ provider: br, model: x }}
  b: {{ provider: vx, model: y }}
  c: {{ provider: az, model: z }}
routes:
  chat: {{ targets: [a, b, c] }}
"
        ),
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&config)
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("steadfast.yaml"), "{stderr}");
    assert!(
        stderr.contains("providers.br.region: unknown region \"mars-north-9\""),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "providers.vx.credentials_file: cannot read the key file \"/nonexistent/sa.json\""
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("providers.az: an azure provider needs `api_key` or `bearer_token`"),
        "{stderr}"
    );
    assert!(!stderr.contains(AWS_SECRET), "{stderr}");
}
