//! The `steadfast` binary: a thin command line over `steadfast_gateway`.

use std::process::ExitCode;

use clap::Parser;
use steadfast_gateway::cli::{self, Cli};
use steadfast_gateway::logging;

/// mimalloc: glibc's malloc and free were a tenth of the gateway's CPU per
/// request in a profile under load (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _logging = match logging::init(cli.log_json, cli.command.draws_output()) {
        Ok(logging) => logging,
        Err(error) => {
            eprintln!("error: setting up logging: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    cli::run(cli).await
}
