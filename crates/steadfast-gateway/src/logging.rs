//! The process's `tracing` subscriber: log lines to stderr as text or JSON,
//! filtered by `STEADFAST_LOG` (default `info`, or `error` for commands that
//! draw their own output), and, with the `otlp` feature and an OTLP
//! endpoint in the environment, the request traces exported alongside.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// What must live as long as logging does (the trace export, which flushes
/// when dropped).
#[derive(Debug)]
pub struct Logging {
    #[cfg(feature = "otlp")]
    _exporter: Option<crate::otlp::Exporter>,
}

/// Installs the subscriber. `json` writes JSON lines; `quiet` lowers the
/// default level to errors.
pub fn init(json: bool, quiet: bool) -> anyhow::Result<Logging> {
    let filter = EnvFilter::try_from_env("STEADFAST_LOG")
        .unwrap_or_else(|_| EnvFilter::new(if quiet { "error" } else { "info" }));
    // Colours only for a person at a terminal: a log file, a pipe or journald
    // gets plain text (and `NO_COLOR` turns them off everywhere).
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    let lines = if json {
        text.json().with_filter(filter).boxed()
    } else {
        text.with_filter(filter).boxed()
    };
    let registry = tracing_subscriber::registry().with(lines);
    #[cfg(feature = "otlp")]
    {
        let exporter = crate::otlp::Exporter::from_env()?;
        let traces = exporter.as_ref().map(|exporter| {
            exporter
                .layer()
                .with_filter(tracing_subscriber::filter::Targets::new().with_target(
                    steadfast_proxy::telemetry::trace::TARGET,
                    tracing::Level::DEBUG,
                ))
        });
        registry.with(traces).try_init()?;
        Ok(Logging {
            _exporter: exporter,
        })
    }
    #[cfg(not(feature = "otlp"))]
    {
        registry.try_init()?;
        if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || std::env::var_os("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        {
            tracing::warn!(
                "an OTLP endpoint is set but this steadfast was built without the `otlp` feature: no traces are exported"
            );
        }
        Ok(Logging {})
    }
}
