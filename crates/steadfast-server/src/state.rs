//! The state every handler shares: the proxy (with the live runtime, swapped
//! whole on reload), the audit log, the dashboard's history, the analytics
//! and the alerts board; and the reload that turns a config file into a new
//! runtime.

use std::path::PathBuf;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use steadfast::events::Events;
use steadfast_config::{self as config, Config, ConfigError};
use steadfast_fleet::SharedState;
use steadfast_proxy::Proxy;
use steadfast_proxy::runtime::Runtime;
use steadfast_wire::clock::unix_millis;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::alerts::AlertBoard;
use crate::analytics::Analytics;
use crate::audit::Audit;
use crate::dashboard::Dashboard;
use crate::refusals::Refusals;
use crate::telemetry;

/// Shared by every handler.
#[derive(Debug)]
pub struct AppState {
    /// The proxy: live routes and targets, the upstream client, the events.
    pub proxy: Arc<Proxy>,
    /// The audit log.
    pub audit: Arc<Audit>,
    /// The dashboard's history and gateway notices.
    pub dashboard: Dashboard,
    /// The bounded day of history that reports are built from.
    pub analytics: Analytics,
    /// Where state shared with the fleet lives (memory or Redis).
    pub shared: SharedState,
    /// The config file, for reloads.
    pub config_path: PathBuf,
    /// When the gateway started.
    pub started: Instant,
    /// Active alerts and delivery counters.
    pub alerts: Arc<AlertBoard>,
    /// Renders the process's metrics (shared by every gateway in the process).
    pub prometheus: PrometheusHandle,
    /// Calls refused for want of a token, logged at a bounded rate.
    pub refusals: Refusals,
    reloading: Mutex<()>,
}

impl AppState {
    /// State for a first config.
    pub fn new(config: Config, config_path: PathBuf, events: Events) -> anyhow::Result<AppState> {
        // Before any target is built: targets cache handles from the recorder.
        let prometheus = telemetry::install();
        let shared = SharedState::from_config(&config.state).map_err(anyhow::Error::msg)?;
        let server = &config.server;
        let audit = Audit::new(
            server.audit_log.clone().map(PathBuf::from),
            server.audit_log_max_bytes,
            server.audit_log_files,
        )
        .with_stream(shared.audit_stream().cloned());
        let proxy = Proxy::new(config, events, shared.fleet()).map_err(anyhow::Error::msg)?;
        Ok(AppState {
            proxy: Arc::new(proxy),
            shared,
            audit: Arc::new(audit),
            dashboard: Dashboard::new(),
            analytics: Analytics::new(unix_millis()),
            config_path,
            started: Instant::now(),
            alerts: Arc::new(AlertBoard::default()),
            prometheus,
            refusals: Refusals::default(),
            reloading: Mutex::new(()),
        })
    }

    /// The live runtime.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.proxy.runtime()
    }

    /// Re-reads the config file. A valid config replaces the runtime for new
    /// requests (in-flight ones finish on the old one) and keeps the state of
    /// unchanged models; an invalid one is refused and the old one keeps serving.
    /// Either way the outcome is logged and audited.
    pub async fn reload(&self, trigger: &str) -> Result<String, ConfigError> {
        let _one_at_a_time = self.reloading.lock().await;
        let file = self.config_path.display().to_string();
        // Read on a blocking thread: a serving thread does no file I/O.
        let path = self.config_path.clone();
        let loaded = tokio::task::spawn_blocking(move || config::load(&path))
            .await
            .unwrap_or_else(|error| {
                Err(ConfigError {
                    file: self.config_path.clone(),
                    problems: vec![config::Problem {
                        path: String::new(),
                        reason: format!("the file could not be read: {error}"),
                    }],
                })
            });
        let result = loaded.and_then(|config| {
            let old = self.runtime();
            let kept = config
                .models
                .iter()
                .filter(|(name, settings)| {
                    old.targets
                        .get(name.as_str())
                        .is_some_and(|t| *t.settings() == **settings)
                })
                .count();
            let total = config.models.len();
            let mut summary = config.summary();
            let pending = read_at_start(&old.config, &config);
            if !pending.is_empty() {
                let keys = pending.join(", ");
                tracing::warn!(
                    "{keys}: read at start only, the change takes effect at the next restart"
                );
                summary.push_str(&format!("\n  at the next restart: {keys}"));
            }
            self.proxy
                .reconfigure(config)
                .map_err(|error| ConfigError {
                    file: self.config_path.clone(),
                    problems: vec![config::Problem {
                        path: error.path,
                        reason: error.reason,
                    }],
                })?;
            Ok(format!(
                "{summary}\n  state kept for {kept} of {total} model(s)"
            ))
        });
        let outcome = if result.is_ok() { "ok" } else { "refused" };
        metrics::counter!(telemetry::CONFIG_RELOADS, "result" => outcome).increment(1);
        self.dashboard.notice(serde_json::json!({
            "type": "reload",
            "trigger": trigger,
            "outcome": outcome,
        }));
        match &result {
            Ok(summary) => {
                tracing::info!(trigger, %file, "config reloaded: {summary}");
                self.audit
                    .record("reload", &file, "ok", &format!("{trigger}: {summary}"));
            }
            Err(error) => {
                tracing::error!(
                    trigger,
                    "config reload refused, the old config keeps serving: {error}"
                );
                self.audit
                    .record("reload", &file, "refused", &format!("{trigger}: {error}"));
            }
        }
        result
    }
}

/// The settings a running gateway reads only when it starts that differ
/// between `old` and `new`: a reload applies everything else, these wait for
/// a restart (and the reload says so).
fn read_at_start(old: &Config, new: &Config) -> Vec<&'static str> {
    let (was, is) = (&old.server, &new.server);
    [
        ("server.listen", was.listen != is.listen),
        ("server.threads", was.threads != is.threads),
        (
            "server.client_timeout (for request heads and idle connections)",
            was.client_timeout != is.client_timeout,
        ),
        (
            "server.write_timeout (for sockets)",
            was.write_timeout != is.write_timeout,
        ),
        (
            "server.shutdown_grace",
            was.shutdown_grace != is.shutdown_grace,
        ),
        (
            "server.audit_log",
            was.audit_log != is.audit_log
                || was.audit_log_max_bytes != is.audit_log_max_bytes
                || was.audit_log_files != is.audit_log_files,
        ),
        ("server.ops_listen", was.ops_listen != is.ops_listen),
        (
            "server.max_connections",
            was.max_connections != is.max_connections,
        ),
        ("state", old.state != new.state),
    ]
    .into_iter()
    .filter_map(|(key, changed)| changed.then_some(key))
    .collect()
}
