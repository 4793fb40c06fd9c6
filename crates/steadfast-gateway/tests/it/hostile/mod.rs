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
mod translation;

use steadfast_mock::MockServer;
use tempfile::TempDir;
use tokio::net::TcpStream;

use crate::support::{ServeProcess, config_with, free_port};

/// `steadfast serve` as a child process over a config written by the
/// test (see [`ServeProcess`]).
pub struct Binary {
    process: ServeProcess,
    /// The operations listener's base URL, when the config has one.
    pub ops_url: Option<String>,
    _dir: TempDir,
}

/// Placeholders a test's config may hold: the main port and the ops port.
pub const PORT: &str = "{PORT}";
/// See [`PORT`].
pub const OPS_PORT: &str = "{OPS_PORT}";
/// A main listener on loopback.
pub const LOOPBACK: &str = "127.0.0.1:{PORT}";
/// A main listener on every address: a public one.
pub const PUBLIC: &str = "0.0.0.0:{PORT}";

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
        let process = ServeProcess::start(&[], &config, port, &[]).await;
        Binary {
            process,
            ops_url: yaml
                .contains("ops_listen")
                .then(|| format!("http://127.0.0.1:{ops_port}")),
            _dir: dir,
        }
    }

    /// `path` on the main listener (always reached over loopback).
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.process.url)
    }

    /// A raw connection to the main listener.
    pub async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.process.url.trim_start_matches("http://"))
            .await
            .unwrap()
    }

    /// The process's resident memory, in KiB.
    /// The binary's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.pid())).unwrap();
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
        self.process.logs()
    }
}

/// A config over `mocks` (see [`config_with`]) listening on `listen` (such
/// as [`LOOPBACK`]), with `server`, `model` and `route` settings added (YAML
/// lines, indented by the function).
pub fn config(
    mocks: &[MockServer],
    listen: &str,
    server: &str,
    model: &str,
    route: &str,
) -> String {
    config_with(
        mocks,
        &format!("listen: \"{listen}\"\n{server}"),
        model,
        route,
    )
}
