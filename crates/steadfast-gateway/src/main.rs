//! The `steadfast` binary: a thin command line over `steadfast_gateway`.

use std::process::ExitCode;

use clap::Parser;
use steadfast_gateway::cli::{self, Cli};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_env("STEADFAST_LOG").unwrap_or_else(|_| {
        EnvFilter::new(if cli.command.draws_output() {
            "error"
        } else {
            "info"
        })
    });
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    cli::run(cli).await
}
