//! `steadfast demo`: the main job with nothing to set up. A built-in chaos
//! scenario (`demo.yaml`) starts three simulated providers and a gateway with
//! a sequential route over them, sends steady traffic, takes the primary down
//! and brings it back, shows a live per-target view and ends with the
//! resilience report. `--keep-serving` leaves it all up afterwards.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use steadfast_config::format_duration;

use crate::{self as chaos, Launcher, Report, Scenario, Stage, StageOptions, View, output};

/// The built-in scenario.
const SCENARIO: &str = include_str!("demo.yaml");

/// The address the demo listens on unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// How long traffic runs; the outage scales with it.
    pub duration: Duration,
    /// Where the gateway listens; `None` tries [`DEFAULT_LISTEN`], then a free port.
    pub listen: Option<SocketAddr>,
    /// Keep the gateway and providers up after the report, until Ctrl-C.
    pub keep_serving: bool,
    /// Starts the gateway.
    pub launcher: Launcher,
}

/// Runs the demo; returns its report.
pub async fn run(options: &DemoOptions) -> anyhow::Result<Report> {
    let scenario = Scenario::parse(SCENARIO)?.scaled_to(options.duration);
    let dir = std::env::temp_dir().join(format!("steadfast-demo-{}", std::process::id()));
    let stage = start(&scenario, options, dir.clone()).await?;
    introduce(&scenario, &stage);
    let report = chaos::play(&scenario, &stage, View::Targets).await;
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            stage.stop().await;
            return Err(error);
        }
    };
    println!("\n{}", output::table(&report));
    match output::write(&report, &dir) {
        Ok(()) => println!("Report written to {}", dir.display()),
        Err(error) => eprintln!(
            "warning: cannot write the report into {}: {error}",
            dir.display()
        ),
    }
    if options.keep_serving {
        println!(
            "\nStill serving on {url} (Ctrl-C to stop). Try:\n  curl {url}/v1/chat/completions -H 'content-type: application/json' \\\n    -d '{{\"model\":\"chat\",\"messages\":[{{\"role\":\"user\",\"content\":\"hello\"}}]}}'",
            url = stage.url
        );
        let _ = tokio::signal::ctrl_c().await;
    }
    stage.stop().await;
    Ok(report)
}

async fn start(scenario: &Scenario, options: &DemoOptions, dir: PathBuf) -> anyhow::Result<Stage> {
    let mut stage_options = StageOptions {
        gateway_url: None,
        launcher: options.launcher.clone(),
        listen: Some(options.listen.map_or_else(|| DEFAULT_LISTEN.parse(), Ok)?),
        dir,
    };
    match Stage::start(scenario, &stage_options).await {
        Ok(stage) => Ok(stage),
        Err(error) if options.listen.is_none() => {
            eprintln!("note: {DEFAULT_LISTEN} is taken ({error}); using a free port");
            stage_options.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
            Stage::start(scenario, &stage_options).await
        }
        Err(error) => Err(error),
    }
}

fn introduce(scenario: &Scenario, stage: &Stage) {
    println!(
        "Steadfast demo: three simulated providers (primary, secondary, tertiary) behind route `chat`."
    );
    println!("Gateway:   {}/v1/chat/completions", stage.url);
    println!("Dashboard: {}/dashboard", stage.url);
    println!("Status:    {}/api/status", stage.url);
    for step in &scenario.faults {
        let end = step
            .lasts
            .map_or(scenario.duration.0, |lasts| step.at.0 + lasts.0);
        println!(
            "Script:    {} goes down ({}) at {} and comes back at {}; traffic runs {}.",
            step.target,
            step.fault.label(),
            format_duration(step.at.0),
            format_duration(end),
            format_duration(scenario.duration.0)
        );
    }
    println!();
}
