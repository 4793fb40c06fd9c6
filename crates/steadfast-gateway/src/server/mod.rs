//! The gateway's HTTP server: the router over the public contract, startup,
//! reload triggers (file change, `SIGHUP`, `POST /admin/reload`) and graceful
//! shutdown on `SIGTERM`/`SIGINT`.

mod admin;
mod alerts;
mod body;
mod chat;
mod clients;
pub mod error;
mod info;
mod messages;
mod record;
mod report;
mod resume;
mod scrape;
mod state;
mod watch;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use steadfast::events::Events;
use tokio::sync::watch as signal;
use tokio::task::JoinHandle;

pub use error::ApiError;
pub use info::snapshot;
pub use state::AppState;

use crate::config::{self, Config};
use crate::shared::SharedState;
use crate::{dashboard, net, telemetry};

/// The router over every public endpoint.
pub fn router(app: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat::chat))
        .route("/v1/embeddings", post(chat::embeddings))
        .route("/v1/messages", post(messages::messages))
        .route("/v1/models", get(info::models))
        .route("/health", get(info::health))
        .route("/ready", get(info::ready))
        .route("/api/status", get(info::status))
        .route("/api/alerts", get(alerts::active))
        .route("/api/report", get(report::report))
        .route("/metrics", get(scrape::metrics))
        .route("/api/events", get(dashboard::events))
        .route("/api/history", get(dashboard::history))
        .route("/dashboard", get(dashboard::page))
        .route("/admin/models/{name}/trip", post(admin::trip))
        .route("/admin/models/{name}/reset", post(admin::reset))
        .route("/admin/reload", post(admin::reload))
        .route("/admin/audit", get(admin::audit))
        .fallback(|| async { ApiError::not_found("No such endpoint.") })
        .with_state(app)
}

/// The request id of a request: the client's `x-request-id` if it sent a
/// sane one, else a new one.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(crate::headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(new_request_id)
}

pub(super) fn new_request_id() -> String {
    static RNG: std::sync::OnceLock<steadfast::rng::Rng> = std::sync::OnceLock::new();
    let rng = RNG.get_or_init(steadfast::rng::Rng::from_entropy);
    format!("req_{:016x}", rng.next_u64())
}

/// A running gateway. Dropping it does not stop it: call [`Gateway::shutdown`].
pub struct Gateway {
    addr: SocketAddr,
    state: Arc<AppState>,
    shutdown: signal::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Gateway {
    /// Loads `config_path` and starts serving it; returns once listening.
    pub async fn start(config_path: &Path) -> anyhow::Result<Gateway> {
        let config = config::load(config_path)?;
        Gateway::start_with(config, config_path).await
    }

    /// Starts serving an already loaded `config` (read from `config_path`,
    /// which reloads re-read).
    pub async fn start_with(config: Config, config_path: &Path) -> anyhow::Result<Gateway> {
        let listen: SocketAddr = config.server.listen.parse()?;
        let options = net::ServeOptions {
            header_timeout: config.server.client_timeout.0,
            shutdown_grace: config.server.shutdown_grace.0,
        };
        let state = Arc::new(AppState::new(
            config,
            config_path.to_owned(),
            Events::new(),
        )?);
        let (shutdown, stop) = signal::channel(false);
        let threads = state.runtime().config.server.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        );
        let (addr, mut tasks) = net::serve_threads(
            listen,
            threads,
            router(Arc::clone(&state)),
            stop.clone(),
            options,
        )
        .map_err(|error| anyhow::anyhow!("cannot listen on {listen}: {error}"))?;
        tasks.push(tokio::spawn(telemetry::upkeep(
            state.prometheus.clone(),
            stop.clone(),
        )));
        if let Some(config_watch) = watch::watch_config(&state) {
            tasks.push(tokio::spawn(watch::reload_on_change(
                Arc::clone(&state),
                config_watch,
                stop.clone(),
            )));
        }
        tasks.push(tokio::spawn(crate::alerts::task::run(
            Arc::clone(&state),
            stop.clone(),
        )));
        tasks.extend(SharedState::spawn(&state, &stop));
        tasks.push(tokio::spawn(watch::reload_on_sighup(
            Arc::clone(&state),
            stop.clone(),
        )));
        tasks.push(tokio::spawn(dashboard::sampler::run(
            Arc::clone(&state),
            stop,
        )));
        tracing::info!(%addr, threads, "steadfast gateway listening");
        Ok(Gateway {
            addr,
            state,
            shutdown,
            tasks,
        })
    }

    /// The address the gateway listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (runtime, audit log, events).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish within the grace
    /// period, and returns when the server has stopped.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }

    /// Serves until `SIGTERM` or `SIGINT`, then shuts down gracefully.
    pub async fn run_until_signalled(self) {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        self.shutdown().await;
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
