//! The state every handler shares: the live runtime (swapped whole on
//! reload), the upstream client, the event bus and the audit log.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use metrics_exporter_prometheus::PrometheusHandle;
use steadfast::events::Events;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::alerts::AlertBoard;
use crate::analytics::Analytics;
use crate::audit::Audit;
use crate::config::{self, Config, ConfigError};
use crate::dashboard::{self, Dashboard};
use crate::runtime::{HealthProbes, Runtime};
use crate::shared::SharedState;
use crate::telemetry;
use crate::upstream::Upstream;

/// Shared by every handler.
#[derive(Debug)]
pub struct AppState {
    /// The live routes and targets.
    pub runtime: ArcSwap<Runtime>,
    /// The pooled client for every provider.
    pub upstream: Upstream,
    /// Events of every policy.
    pub events: Events,
    /// The audit log.
    pub audit: Audit,
    /// The dashboard's history and gateway notices.
    pub dashboard: Dashboard,
    /// The bounded day of history that reports are built from.
    pub analytics: Analytics,
    /// Active health probes of every target.
    pub probes: HealthProbes,
    /// Where state shared with the fleet lives (memory or Redis).
    pub shared: SharedState,
    /// The config file, for reloads.
    pub config_path: PathBuf,
    /// When the gateway started.
    pub started: Instant,
    /// Active alerts and delivery counters.
    pub alerts: AlertBoard,
    /// Renders the process's metrics (shared by every gateway in the process).
    pub prometheus: PrometheusHandle,
    reloading: Mutex<()>,
}

impl AppState {
    /// State for a first config.
    pub fn new(config: Config, config_path: PathBuf, events: Events) -> anyhow::Result<AppState> {
        // Before any target is built: targets cache handles from the recorder.
        let prometheus = telemetry::install();
        let shared = SharedState::from_config(&config.state).map_err(anyhow::Error::msg)?;
        let audit = Audit::new(config.server.audit_log.clone().map(PathBuf::from))
            .with_stream(shared.audit_stream().cloned());
        let upstream = Upstream::new().map_err(anyhow::Error::msg)?;
        let probes = HealthProbes::new(upstream.clone(), events.clone(), shared.clone());
        let runtime =
            Runtime::build(config, None, &events, &probes, &shared).map_err(anyhow::Error::msg)?;
        Ok(AppState {
            runtime: ArcSwap::from_pointee(runtime),
            upstream,
            probes,
            shared,
            events,
            audit,
            dashboard: Dashboard::new(),
            analytics: Analytics::new(dashboard::unix_millis()),
            config_path,
            started: Instant::now(),
            alerts: AlertBoard::default(),
            prometheus,
            reloading: Mutex::new(()),
        })
    }

    /// The live runtime.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    /// Re-reads the config file. A valid config replaces the runtime for new
    /// requests (in-flight ones finish on the old one) and keeps the state of
    /// unchanged models; an invalid one is refused and the old one keeps serving.
    /// Either way the outcome is logged and audited.
    pub async fn reload(&self, trigger: &str) -> Result<String, ConfigError> {
        let _one_at_a_time = self.reloading.lock().await;
        let file = self.config_path.display().to_string();
        let result = config::load(&self.config_path).and_then(|config| {
            let old = self.runtime();
            let kept = config
                .models
                .iter()
                .filter(|(name, settings)| {
                    old.targets
                        .get(name.as_str())
                        .is_some_and(|t| t.settings == **settings)
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
            let runtime =
                Runtime::build(config, Some(&old), &self.events, &self.probes, &self.shared)
                    .map_err(|reason| ConfigError {
                        file: self.config_path.clone(),
                        problems: vec![config::Problem {
                            path: String::new(),
                            reason,
                        }],
                    })?;
            self.runtime.store(Arc::new(runtime));
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
            "server.client_timeout (for request heads)",
            was.client_timeout != is.client_timeout,
        ),
        (
            "server.shutdown_grace",
            was.shutdown_grace != is.shutdown_grace,
        ),
        ("server.audit_log", was.audit_log != is.audit_log),
        ("state", old.state != new.state),
    ]
    .into_iter()
    .filter_map(|(key, changed)| changed.then_some(key))
    .collect()
}
