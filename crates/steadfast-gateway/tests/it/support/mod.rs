//! Shared set-up of the end-to-end tests: simulated providers and a gateway
//! on free loopback ports, a config file in a temporary directory, and an HTTP
//! client.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod fleet;
pub mod forward;
pub mod observe;
pub mod redis_server;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use steadfast_config::{self as config, ProviderKind};
use steadfast_mock::{Faults, MockOptions, MockServer, Mode};
use steadfast_server::Gateway;
use tempfile::TempDir;

/// The API key the tests give the primary provider; it must never leak.
pub const SECRET_KEY: &str = "sk-test-DO-NOT-LEAK-4f9a8b7c6d5e";
/// The admin token of the tests.
pub const ADMIN_TOKEN: &str = "admin-token-for-tests";

/// Simulated providers plus a gateway in front of them.
pub struct Harness {
    pub mocks: Vec<MockServer>,
    pub gateway: Gateway,
    pub dir: TempDir,
    pub config_path: PathBuf,
    pub client: reqwest::Client,
}

/// Starts `names.len()` simulated providers (named as given).
pub async fn mocks(names: &[&str]) -> Vec<MockServer> {
    let mut mocks = Vec::new();
    for name in names {
        mocks.push(MockServer::start(MockOptions::named(name)).await.unwrap());
    }
    mocks
}

/// A config over `mocks`: provider `p{i}` and model `m{i}` per mock, the first
/// with [`SECRET_KEY`], and route `chat` over every model in order, listening
/// on a free port with the tests' admin token. `model_extra` (YAML) is
/// appended under each model, e.g. `"timeout: 500ms"`, `route_extra` under
/// the route.
pub fn config_yaml(mocks: &[MockServer], model_extra: &str, route_extra: &str) -> String {
    let server =
        format!("listen: \"127.0.0.1:0\"\nadmin_token: \"{ADMIN_TOKEN}\"\nmax_body_bytes: 65536");
    config_with(mocks, &server, model_extra, route_extra)
}

/// The config of [`config_yaml`] with `server` (YAML lines) as its server
/// section. Further top-level sections (`clients:`) can be appended to it.
pub fn config_with(
    mocks: &[MockServer],
    server: &str,
    model_extra: &str,
    route_extra: &str,
) -> String {
    let mut yaml = "server:\n".to_owned();
    push_indented(&mut yaml, server, "  ");
    yaml.push_str("providers:\n");
    for (i, mock) in mocks.iter().enumerate() {
        let key = if i == 0 {
            format!(", api_key: \"{SECRET_KEY}\"")
        } else {
            String::new()
        };
        yaml.push_str(&format!(
            "  p{i}: {{ kind: openai, base_url: \"{}\"{key} }}\n",
            mock.base_url()
        ));
    }
    yaml.push_str("models:\n");
    for i in 0..mocks.len() {
        yaml.push_str(&format!(
            "  m{i}:\n    provider: p{i}\n    model: upstream-{i}\n"
        ));
        push_indented(&mut yaml, model_extra, "    ");
    }
    let targets: Vec<String> = (0..mocks.len()).map(|i| format!("m{i}")).collect();
    yaml.push_str(&format!(
        "routes:\n  chat:\n    targets: [{}]\n",
        targets.join(", ")
    ));
    push_indented(&mut yaml, route_extra, "    ");
    yaml
}

/// Appends the non-empty lines of `lines`, each after `indent`.
fn push_indented(yaml: &mut String, lines: &str, indent: &str) {
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        yaml.push_str(&format!("{indent}{line}\n"));
    }
}

impl Harness {
    /// Providers named `names` and a gateway over them with `yaml` built by the caller.
    pub async fn with_config(mocks: Vec<MockServer>, yaml: &str) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("steadfast.yaml");
        std::fs::write(&config_path, yaml).unwrap();
        let loaded = config::load(&config_path).unwrap_or_else(|e| panic!("{e}"));
        let gateway = Gateway::start_with(loaded, &config_path).await.unwrap();
        Harness {
            mocks,
            gateway,
            dir,
            config_path,
            client: reqwest::Client::new(),
        }
    }

    /// Providers named `names` and a gateway with the default test config.
    pub async fn start(names: &[&str], model_extra: &str, route_extra: &str) -> Harness {
        let mocks = mocks(names).await;
        let yaml = config_yaml(&mocks, model_extra, route_extra);
        Harness::with_config(mocks, &yaml).await
    }

    /// The gateway's URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway.addr())
    }

    /// POSTs a chat completion for route `chat`.
    pub async fn chat(&self, content: &str) -> reqwest::Response {
        self.post_json(
            "/v1/chat/completions",
            json!({
                "model": "chat",
                "messages": [{"role": "user", "content": content}]
            }),
        )
        .await
    }

    /// POSTs a JSON body.
    pub async fn post_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// POSTs to an admin endpoint with the right token.
    pub async fn admin_post(&self, path: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// GETs an admin endpoint with the right token; its JSON answer.
    pub async fn admin_get(&self, path: &str) -> Value {
        self.client
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The status snapshot.
    pub async fn status(&self) -> Value {
        self.client
            .get(self.url("/api/status"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The status entry of model `name`.
    pub async fn target(&self, name: &str) -> Value {
        let status = self.status().await;
        status["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no target {name} in {status}"))
    }
}

/// A header's value as text.
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Polls `check` every 10 ms until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Fetches with `fetch` every 10 ms until `done` holds of what it got or
/// `within` passes; the last value fetched.
pub async fn settled<T, F, Fut>(within: Duration, mut fetch: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let value = fetch().await;
        if done(&value) || tokio::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An Anthropic provider `m0` ("claude") and an OpenAI one `m1` ("gpt"), with
/// route `claude-first` over [m0, m1] and `gpt-first` over [m1, m0].
pub async fn anthropic_and_openai() -> Harness {
    anthropic_and_openai_with("").await
}

/// [`anthropic_and_openai`] with `routes` (YAML lines under `routes:`, each
/// indented by two spaces) added.
pub async fn anthropic_and_openai_with(routes: &str) -> Harness {
    let claude = MockServer::start(MockOptions {
        kind: ProviderKind::Anthropic,
        ..MockOptions::named("claude")
    })
    .await
    .unwrap();
    let gpt = MockServer::start(MockOptions::named("gpt")).await.unwrap();
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}
providers:
  p0: {{ kind: anthropic, base_url: \"{}\", api_key: \"{SECRET_KEY}\" }}
  p1: {{ kind: openai, base_url: \"{}\" }}
models:
  m0: {{ provider: p0, model: claude-sonnet-4-5 }}
  m1: {{ provider: p1, model: gpt-4o-mini }}
routes:
  claude-first: {{ targets: [m0, m1] }}
  gpt-first: {{ targets: [m1, m0] }}
{routes}",
        claude.base_url(),
        gpt.base_url()
    );
    Harness::with_config(vec![claude, gpt], &yaml).await
}

/// Sets a provider's fault mode (and the status of `error` mode).
pub fn fail(mock: &MockServer, mode: Mode, status: u16) {
    mock.control().set(Faults {
        mode,
        status,
        ..Faults::default()
    });
}

/// POSTs a Messages API request for `route` ("hello there", `max_tokens`
/// 100, a system prompt) with `extra` fields added.
pub async fn messages(h: &Harness, route: &str, extra: Value) -> reqwest::Response {
    let mut body = json!({"model": route, "max_tokens": 100, "system": "Be brief.",
        "messages": [{"role": "user", "content": "hello there"}]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    h.post_json("/v1/messages", body).await
}

/// The `type` of each event of a streamed body (the Messages API's).
pub fn event_types(body: &str) -> Vec<String> {
    events(body)
        .iter()
        .map(|event| event["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Runs the Python `script` with `args` in the project's virtualenv.
pub async fn run_python<I, S>(script: &std::path::Path, args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    tokio::process::Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .await
        .unwrap()
}

/// Runs `tests/it/python/{script}` with `args` in the project's virtualenv
/// and asserts that it passed every check.
pub async fn run_script(script: &str, args: &[&str]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/python")
        .join(script);
    let output = run_python(&path, args).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

/// The data of each event of a streamed body, `[DONE]` left out.
pub fn events(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

/// The Python of the project's virtualenv, made by `scripts/setup`.
pub fn python() -> std::path::PathBuf {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup",
        python.display()
    );
    python
}

/// Held by runs whose verdicts depend on time (chaos scenarios, the failover
/// harness), and by tests heavy enough to upset them: one at a time, so that
/// none suffers from another's load.
pub static TIMED_RUNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fresh 2048-bit RSA key pair made with openssl: the private key (PEM,
/// PKCS#8, as a service account key file holds it) and its public key (PEM).
pub fn rsa_key_pair() -> (String, String) {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let output = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl is installed by scripts/setup");
    assert!(output.status.success(), "{output:?}");
    let private = String::from_utf8(output.stdout).unwrap();
    let mut child = Command::new("openssl")
        .args(["pkey", "-pubout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(private.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    (private, String::from_utf8(output.stdout).unwrap())
}

/// A free loopback port (bound, then released for the caller).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `steadfast serve` as a child process: stdout discarded, its log (stderr)
/// kept in a file (a pipe nobody reads would stall it), killed if dropped.
pub struct ServeProcess {
    child: tokio::process::Child,
    /// Its base URL.
    pub url: String,
    log: tempfile::NamedTempFile,
}

impl ServeProcess {
    /// Runs `steadfast {global} serve --config {config}` with `env` (and
    /// none of the test environment's OpenTelemetry variables) and waits
    /// until it answers `/health` on `port` (the port in the config).
    pub async fn start(
        global: &[&str],
        config: &std::path::Path,
        port: u16,
        env: &[(&str, &str)],
    ) -> ServeProcess {
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_steadfast"))
            .args(global)
            .args(["serve", "--config"])
            .arg(config)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_SERVICE_NAME")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(log.reopen().unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let up = eventually(Duration::from_secs(10), || async {
            client.get(format!("{url}/health")).send().await.is_ok()
        })
        .await;
        let process = ServeProcess { child, url, log };
        assert!(up, "the gateway did not start: {}", process.logs());
        process
    }

    /// What the process has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Sends `signal` (e.g. `-HUP`) to the process.
    pub fn signal(&self, signal: &str) {
        let sent = std::process::Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Sends SIGTERM, asserts a clean exit within 10 s and returns what the
    /// process logged.
    pub async fn terminate(mut self) -> String {
        self.signal("-TERM");
        let exit = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(exit.success(), "{exit}");
        self.logs()
    }
}

/// Asserts that `mock`'s last request continued a cut-off stream: the partial
/// answer as the assistant's turn, then a user turn asking to go on from it.
pub fn assert_continues(mock: &MockServer, partial: &str) {
    let continuation = mock.control().last_request().unwrap();
    let messages = continuation["messages"].as_array().unwrap();
    assert_eq!(
        messages[messages.len() - 2],
        json!({"role": "assistant", "content": partial}),
        "{continuation}"
    );
    assert_eq!(messages.last().unwrap()["role"], "user", "{continuation}");
}
