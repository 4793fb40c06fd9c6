//! Attacks on the `steadfast` binary, each over real sockets with the
//! bounded outcome asserted: hostile clients (no token, slow or never
//! reading, thousands of subscribers, endless connections) and faulty
//! providers (endless streams, huge answers, hostile error text).

#![allow(unreachable_pub)]

mod access;
mod connections;
mod events;
mod fuzz;
mod messages;
mod providers;
mod streams;

use std::path::PathBuf;
use std::time::Duration;

use steadfast_mock::MockServer;
use tempfile::TempDir;

use crate::support::{eventually, free_port};

/// `steadfast serve` as a child process over a config written by the
/// test, its log kept in a file (a pipe nobody reads would stall it).
pub struct Binary {
    child: tokio::process::Child,
    /// The main listener's base URL (always reached over loopback).
    pub url: String,
    /// The operations listener's base URL, when the config has one.
    pub ops_url: Option<String>,
    log: PathBuf,
    _dir: TempDir,
}

/// Placeholders a test's config may hold: the main port and the ops port.
pub const PORT: &str = "{PORT}";
/// See [`PORT`].
pub const OPS_PORT: &str = "{OPS_PORT}";

impl Binary {
    /// Starts the binary on `yaml`, with [`PORT`] and [`OPS_PORT`] replaced
    /// by free ports, and waits until it answers `/health`.
    pub async fn start(yaml: &str) -> Binary {
        let dir = tempfile::tempdir().unwrap();
        let (port, ops_port) = (free_port(), free_port());
        let yaml = yaml
            .replace(PORT, &port.to_string())
            .replace(OPS_PORT, &ops_port.to_string());
        let config = dir.path().join("steadfast.yaml");
        std::fs::write(&config, &yaml).unwrap();
        let log = dir.path().join("steadfast.log");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_steadfast"))
            .args(["serve", "--config"])
            .arg(&config)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let up = eventually(Duration::from_secs(10), || async {
            client.get(format!("{url}/health")).send().await.is_ok()
        })
        .await;
        let binary = Binary {
            child,
            url,
            ops_url: yaml
                .contains("ops_listen")
                .then(|| format!("http://127.0.0.1:{ops_port}")),
            log,
            _dir: dir,
        };
        assert!(up, "the gateway did not start: {}", binary.logs());
        binary
    }

    /// `path` on the main listener.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The process's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let pid = self.child.id().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// The value of the metric line starting with `series` in `/metrics`.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = reqwest::get(self.at("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(series))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// What the process has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A config over `mocks` (provider `p{i}`, model `m{i}`, route `chat` over
/// them all), listening on `listen`, with `server`, `model` and `route`
/// settings added (YAML lines, indented by the function). Further top-level
/// sections (`clients:`) can be appended to it.
pub fn config(
    mocks: &[MockServer],
    listen: &str,
    server: &str,
    model: &str,
    route: &str,
) -> String {
    let mut yaml = format!("server:\n  listen: \"{listen}\"\n");
    for line in server.lines().filter(|l| !l.trim().is_empty()) {
        yaml.push_str(&format!("  {line}\n"));
    }
    yaml.push_str("providers:\n");
    for (i, mock) in mocks.iter().enumerate() {
        yaml.push_str(&format!(
            "  p{i}: {{ kind: openai, base_url: \"{}\", api_key: \"{}\" }}\n",
            mock.base_url(),
            crate::support::SECRET_KEY
        ));
    }
    yaml.push_str("models:\n");
    for i in 0..mocks.len() {
        yaml.push_str(&format!(
            "  m{i}:\n    provider: p{i}\n    model: upstream-{i}\n"
        ));
        for line in model.lines().filter(|l| !l.trim().is_empty()) {
            yaml.push_str(&format!("    {line}\n"));
        }
    }
    let targets: Vec<String> = (0..mocks.len()).map(|i| format!("m{i}")).collect();
    yaml.push_str(&format!(
        "routes:\n  chat:\n    targets: [{}]\n",
        targets.join(", ")
    ));
    for line in route.lines().filter(|l| !l.trim().is_empty()) {
        yaml.push_str(&format!("    {line}\n"));
    }
    yaml
}
