//! A running gateway: startup (state, listeners, background tasks), reload
//! triggers (file change, `SIGHUP`; `POST /admin/reload` is a handler) and
//! graceful shutdown on `SIGTERM`/`SIGINT`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use steadfast::events::Events;
use steadfast_config::{self as config, Config};
use tokio::sync::watch as signal;
use tokio::task::JoinHandle;

use crate::http::Listener;
use crate::state::AppState;
use crate::{http, sampler, telemetry, watch};

/// A running gateway. Dropping it does not stop it: call [`Gateway::shutdown`].
pub struct Gateway {
    addr: SocketAddr,
    ops_addr: Option<SocketAddr>,
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
        let options = steadfast_net::ServeOptions {
            header_timeout: config.server.client_timeout.0,
            shutdown_grace: config.server.shutdown_grace.0,
            write_timeout: config.server.write_timeout.0,
            max_connections: config.server.max_connections,
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
        let server = &state.runtime().config.server;
        let ops_listen: Option<SocketAddr> =
            server.ops_listen.as_deref().map(str::parse).transpose()?;
        let main = match ops_listen {
            Some(_) => Listener::ModelApi,
            None => Listener::Combined {
                loopback: listen.ip().is_loopback(),
            },
        };
        for warning in state.runtime().config.warnings() {
            tracing::warn!(%listen, "{warning}");
        }
        let (addr, mut tasks) = steadfast_net::serve_threads(
            listen,
            threads,
            http::router(Arc::clone(&state), main),
            stop.clone(),
            options,
        )
        .map_err(|error| anyhow::anyhow!("cannot listen on {listen}: {error}"))?;
        let ops_addr = match ops_listen {
            None => None,
            Some(ops) => {
                let (ops_addr, ops_tasks) = steadfast_net::serve_threads(
                    ops,
                    1,
                    http::router(
                        Arc::clone(&state),
                        Listener::Operations {
                            loopback: ops.ip().is_loopback(),
                        },
                    ),
                    stop.clone(),
                    options,
                )
                .map_err(|error| {
                    anyhow::anyhow!("cannot listen on {ops} (server.ops_listen): {error}")
                })?;
                tasks.extend(ops_tasks);
                tracing::info!(addr = %ops_addr, "operations surface listening");
                Some(ops_addr)
            }
        };
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
            Arc::clone(&state.proxy),
            Arc::clone(&state.alerts),
            Arc::clone(&state.audit),
            stop.clone(),
        )));
        tasks.extend(state.shared.spawn(&state.proxy, &stop));
        tasks.push(tokio::spawn(watch::reload_on_sighup(
            Arc::clone(&state),
            stop.clone(),
        )));
        tasks.push(tokio::spawn(sampler::run(Arc::clone(&state), stop)));
        tracing::info!(%addr, threads, "steadfast gateway listening");
        Ok(Gateway {
            addr,
            ops_addr,
            state,
            shutdown,
            tasks,
        })
    }

    /// The address the gateway listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the operations listener, if `server.ops_listen` is set.
    pub fn ops_addr(&self) -> Option<SocketAddr> {
        self.ops_addr
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
        self.state.audit.flush().await;
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
