//! The `steadfast` binary as a user runs it: `check`, `schema`, and `serve`
//! with signals, with its logs searched for the upstream key.

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use steadfast_mock::{Faults, Mode};

use crate::support::{SECRET_KEY, ServeProcess, eventually};

const BIN: &str = env!("CARGO_BIN_EXE_steadfast");

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `steadfast check --config path` with `TEST_KEY` set to [`SECRET_KEY`].
fn check(path: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(["check", "--config"])
        .arg(path)
        .env("TEST_KEY", SECRET_KEY)
        .output()
        .unwrap()
}

/// A config whose shared state is the Redis at `url`.
fn fleet_config(dir: &tempfile::TempDir, url: &str) -> std::path::PathBuf {
    write(
        dir,
        "fleet.yaml",
        &format!(
            "providers:\n  openai: {{ kind: openai, base_url: \"https://api.openai.com/v1\" }}\n\
             models:\n  gpt: {{ provider: openai, model: gpt-4o-mini }}\n\
             routes:\n  chat: {{ targets: [gpt] }}\n\
             state: {{ backend: redis, url: \"{url}\" }}\n"
        ),
    )
}

/// `check` reaches the fleet's Redis: it names a Redis it cannot use
/// (never printing the URL's password) and says when it reaches the
/// primary; `--offline` checks the file only.
#[tokio::test]
async fn check_reaches_the_fleets_redis_unless_offline() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let path = fleet_config(
        &dir,
        &format!("redis://:pw-hunter22-secret@127.0.0.1:{port}"),
    );
    let output = check(&path);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("state.url: cannot use Redis"), "{stderr}");
    assert!(!stderr.contains("hunter22"), "{stderr}");
    let offline = Command::new(BIN)
        .args(["check", "--offline", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(offline.status.success(), "{offline:?}");

    let redis = crate::support::redis_server::RedisServer::start().await;
    let output = check(&fleet_config(&dir, &redis.url()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.contains("state.url reaches Redis (the primary)"),
        "{stdout}"
    );
    // A password the server does not take.
    let url = redis
        .url()
        .replace("redis://", "redis://:pw-hunter22-secret@");
    let output = check(&fleet_config(&dir, &url));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("state.url"), "{stderr}");
    assert!(!stderr.contains("hunter22"), "{stderr}");
}

#[test]
fn check_accepts_a_good_config_and_summarises_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "good.yaml",
        "providers:\n  openai: { kind: openai, base_url: \"https://api.openai.com/v1\", api_key: \"${TEST_KEY}\" }\n\
         models:\n  gpt: { provider: openai, model: gpt-4o-mini, timeout: 30s }\n\
         routes:\n  chat: { targets: [gpt] }\n",
    );
    let output = check(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with("ok: "), "{stdout}");
    assert!(
        stdout.contains("route chat: sequential over gpt"),
        "{stdout}"
    );
    assert!(!stdout.contains(SECRET_KEY));
}

#[test]
fn check_names_file_key_and_reason_without_echoing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "bad.yaml",
        "providers:\n  openai: { kind: openai, base_url: \"${TEST_KEY}\", api_key: \"${TEST_KEY}\" }\n\
         models:\n  gpt: { provider: opneai, model: gpt-4o-mini }\n\
         routes:\n  chat: { targets: [gpt, claude] }\n  empty: { targets: [] }\n",
    );
    let output = check(&path);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.yaml: 4 problems"), "{stderr}");
    assert!(
        stderr.contains("providers.openai.base_url: not a valid URL"),
        "{stderr}"
    );
    assert!(
        stderr.contains("models.gpt.provider: unknown provider \"opneai\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("routes.chat.targets[1]: unknown model \"claude\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("routes.empty.targets: needs at least one model"),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET_KEY), "a secret leaked: {stderr}");

    let typo = write(
        &dir,
        "typo.yaml",
        "providers: {}\nmodels: {}\nroutes: {}\nserver: { listne: x }\n",
    );
    let output = check(&typo);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("typo.yaml: server.listne: unknown field `listne`, expected one of `listen`"),
        "{stderr}"
    );

    let missing_env = write(
        &dir,
        "env.yaml",
        "providers:\n  p: { kind: openai, base_url: \"http://x\", api_key: \"${NOT_SET_ANYWHERE}\" }\nmodels: {}\nroutes: {}\n",
    );
    let output = check(&missing_env);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("providers.p.api_key: environment variable NOT_SET_ANYWHERE is not set"),
        "{stderr}"
    );

    let duration = write(
        &dir,
        "d.yaml",
        "providers:\n  p: { kind: openai, base_url: \"http://x\" }\nmodels:\n  m: { provider: p, model: x, timeout: 5x }\nroutes:\n  r: { targets: [m] }\n",
    );
    let output = check(&duration);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("models.m.timeout: \"5x\" has an unknown unit"),
        "{stderr}"
    );
}

#[test]
fn schema_is_published_and_matches_the_committed_copy() {
    let output = Command::new(BIN).arg("schema").output().unwrap();
    assert!(output.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(schema["properties"]["routes"].is_object());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.schema.json"))
        .expect("docs/config.schema.json is committed (regenerate: steadfast schema > docs/config.schema.json)");
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(
        schema, committed,
        "docs/config.schema.json is stale: run `steadfast schema > docs/config.schema.json`"
    );
}

#[tokio::test]
async fn serve_reloads_on_sighup_drains_on_sigterm_and_never_logs_the_key() {
    let mocks = crate::support::mocks(&["primary", "secondary"]).await;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let yaml = crate::support::config_yaml(&mocks, "", "")
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"))
        .replace(SECRET_KEY, "${UPSTREAM_KEY}")
        .replace(
            "  max_body_bytes: 65536\n",
            &format!(
                "  max_body_bytes: 65536\n  audit_log: \"{}\"\n",
                dir.path().join("audit.jsonl").display()
            ),
        );
    let config = write(&dir, "steadfast.yaml", &yaml);
    let gateway = ServeProcess::start(
        &[],
        &config,
        port,
        &[("UPSTREAM_KEY", SECRET_KEY), ("STEADFAST_LOG", "debug")],
    )
    .await;
    let client = reqwest::Client::new();
    let url = gateway.url.clone();
    let chat = |content: &'static str| {
        client
            .post(format!("{url}/v1/chat/completions"))
            .json(&json!({"model": "chat", "messages": [{"role": "user", "content": content}]}))
            .send()
    };
    assert_eq!(chat("hello").await.unwrap().status(), 200);
    // Failures whose bodies and logs could carry the key.
    mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 401,
        ..Faults::default()
    });
    assert_eq!(chat("again").await.unwrap().status(), 200);
    let status = client
        .get(format!("{url}/api/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!status.contains(SECRET_KEY));

    // SIGHUP: reload with one route more.
    std::fs::write(&config, yaml.clone() + "  backup:\n    targets: [m1]\n").unwrap();
    gateway.signal("-HUP");
    assert!(
        eventually(Duration::from_secs(5), || async {
            let models = client
                .get(format!("{url}/v1/models"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            models.contains("backup")
        })
        .await
    );

    // SIGTERM with a request in flight: it finishes, then the process exits.
    mocks[0].control().set(Faults {
        latency_ms: 500,
        ..Faults::default()
    });
    let arrived = mocks[0].control().counts().requests;
    let in_flight = tokio::spawn(chat("slow one"));
    assert!(
        eventually(Duration::from_secs(5), || async {
            mocks[0].control().counts().requests > arrived
        })
        .await,
        "the request never reached the provider"
    );
    let logs = gateway.terminate().await;
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200, "the request in flight finished");
    assert!(logs.contains("config reloaded"), "{logs}");
    assert!(logs.contains("refused the gateway's credentials"), "{logs}");
    assert!(!logs.contains(SECRET_KEY), "the key leaked into the logs");
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"action\":\"reload\"") && audit.contains("SIGHUP"),
        "{audit}"
    );
    assert!(!audit.contains(SECRET_KEY));
}

#[test]
fn check_warns_of_an_unprotected_public_listener_and_names_each_route_s_degradation() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "public.yaml",
        "server: { listen: \"0.0.0.0:8080\" }\n\
         providers:\n  p: { kind: openai, base_url: \"http://127.0.0.1:9/v1\" }\n\
         models:\n  m: { provider: p, model: x, max_concurrency: 4 }\n\
         routes:\n  chat: { targets: [m], cache: { mode: stale_if_error }, shedding: {} }\n",
    );
    let output = check(&path);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: ") && stderr.contains("the operations surface answers 403"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("route chat: sequential over m, with stale answers, priority shedding"),
        "{stdout}"
    );
    let protected = write(
        &dir,
        "protected.yaml",
        "server: { listen: \"0.0.0.0:8080\", ops_listen: \"127.0.0.1:9090\" }\n\
         providers:\n  p: { kind: openai, base_url: \"http://127.0.0.1:9/v1\" }\n\
         models:\n  m: { provider: p, model: x }\nroutes:\n  chat: { targets: [m] }\n",
    );
    let output = check(&protected);
    assert!(String::from_utf8_lossy(&output.stderr).is_empty());
}
