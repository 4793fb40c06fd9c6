//! The command line: `serve`, `check`, `mock`, `schema`, `chaos`, `demo`,
//! `report`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Parser, Subcommand};
use steadfast_chaos::demo::{self, DemoOptions};
use steadfast_chaos::{self as chaos, ChaosOptions, View};
use steadfast_config::{self as config, ProviderKind};
use steadfast_mock::{Faults, MockOptions, MockServer};
use steadfast_server::Gateway;

use crate::{launch, report};

/// Steadfast keeps applications that call AI models answering when models are
/// slow, rate-limited, failing or gone.
#[derive(Debug, Parser)]
#[command(name = "steadfast", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve {
        /// The config file (YAML or JSON).
        #[arg(long, short, env = "STEADFAST_CONFIG")]
        config: PathBuf,
    },
    /// Check a config file; exits non-zero with every problem found. With
    /// `state.backend: redis`, also reaches Redis and names what stops it (a
    /// bad URL, password or TLS trust).
    Check {
        /// The config file (YAML or JSON).
        #[arg(long, short)]
        config: PathBuf,
        /// Check the file only: do not reach Redis.
        #[arg(long)]
        offline: bool,
    },
    /// Run a simulated model provider with runtime fault control.
    Mock {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9001")]
        listen: SocketAddr,
        /// A separate address for the control API (stays up while refusing).
        #[arg(long)]
        control: Option<SocketAddr>,
        /// The provider kind to simulate (its wire format, addressing and
        /// credentials): openai, anthropic, azure (deployment URLs and the v1
        /// API), gemini, bedrock (SigV4-signed, event-stream framing) or
        /// vertex (a token endpoint, Gemini and Claude models).
        #[arg(long, default_value = "openai", value_parser = provider_kind())]
        kind: ProviderKind,
        /// The provider's name, used in its answers.
        #[arg(long, default_value = "mock")]
        name: String,
        /// Latency added to every answer, e.g. 50ms.
        #[arg(long, value_parser = parse_duration_arg, default_value = "0ms")]
        latency: Duration,
        /// Share of requests (0 to 1) answered with a 500.
        #[arg(long, default_value_t = 0.0)]
        fail_rate: f64,
        /// Seed of the random failures.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Bedrock: the secret access key every call's Signature Version 4
        /// is checked with (any access key id).
        #[arg(long, default_value = steadfast_mock::MOCK_AWS_SECRET)]
        aws_secret: String,
        /// Vertex AI: a PEM file of the service account's public key; the
        /// token endpoint then checks every assertion's signature with it.
        #[arg(long)]
        google_public_key: Option<PathBuf>,
    },
    /// Print the JSON Schema of the config file.
    Schema,
    /// Play a chaos scenario and judge the resilience report; exits non-zero
    /// naming every missed target.
    Chaos {
        /// The scenario file (YAML).
        #[arg(long)]
        scenario: PathBuf,
        /// Drive this running gateway (its providers' control URLs are in the scenario).
        #[arg(long)]
        gateway: Option<String>,
        /// Where the report goes (default `target/chaos/<scenario>`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run the short form (a few seconds).
        #[arg(long)]
        short: bool,
    },
    /// Simulated providers, a gateway, traffic and an outage: see it cope.
    Demo {
        /// How long traffic runs; the outage scales with it.
        #[arg(long, value_parser = parse_duration_arg, default_value = "20s")]
        duration: Duration,
        /// Where the gateway listens (default 127.0.0.1:8080, else a free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Keep the gateway and providers up after the report, until Ctrl-C.
        #[arg(long)]
        keep_serving: bool,
    },
    /// Print a running gateway's report: availability, failovers, breaker
    /// trips, mean times to detect and recover, degraded minutes.
    Report {
        /// The gateway's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// How far back, e.g. 15m, 1h, 24h (the most the gateway keeps).
        #[arg(long, default_value = "1h")]
        window: String,
        /// Print the report as JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    /// Whether the command draws its own terminal output, so logs should
    /// stay at errors unless `STEADFAST_LOG` says otherwise.
    pub fn draws_output(&self) -> bool {
        matches!(self, Command::Chaos { .. } | Command::Demo { .. })
    }
}

/// A parser of a provider kind by its config name, offering every kind.
fn provider_kind() -> impl TypedValueParser<Value = ProviderKind> {
    let names = ProviderKind::ALL.map(ProviderKind::as_str);
    clap::builder::PossibleValuesParser::new(names).try_map(|name: String| {
        ProviderKind::from_name(&name).ok_or_else(|| format!("no provider kind {name:?}"))
    })
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    config::parse_duration(text)
}

/// Runs the command line; returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check { config, offline } => match config::load(&config) {
            Ok(loaded) => {
                for warning in loaded.warnings() {
                    eprintln!("warning: {}: {warning}", config.display());
                }
                if !offline {
                    match steadfast_fleet::check_redis(&loaded.state).await {
                        Ok(None) => {}
                        Ok(Some(role)) if role == "cluster" => {
                            println!(
                                "ok: {}: state.url reaches the Redis Cluster",
                                config.display()
                            );
                        }
                        Ok(Some(role)) if role == "master" => {
                            println!(
                                "ok: {}: state.url reaches Redis (the primary)",
                                config.display()
                            );
                        }
                        Ok(Some(role)) => eprintln!(
                            "warning: {}: state.url reaches a Redis whose role is {role}: the fleet needs the primary",
                            config.display()
                        ),
                        Err(error) => {
                            eprintln!("error: {}: {error}", config.display());
                            return ExitCode::FAILURE;
                        }
                    }
                }
                println!("ok: {}: {}", config.display(), loaded.summary());
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&config::json_schema()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Command::Mock {
            listen,
            control,
            kind,
            name,
            latency,
            fail_rate,
            seed,
            aws_secret,
            google_public_key,
        } => {
            let google_public_key = match google_public_key {
                None => None,
                Some(path) => match std::fs::read_to_string(&path) {
                    Ok(pem) => Some(pem),
                    Err(error) => {
                        eprintln!("error: --google-public-key {}: {error}", path.display());
                        return ExitCode::FAILURE;
                    }
                },
            };
            let faults = Faults {
                latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
                fail_rate,
                ..Faults::default()
            };
            let options = MockOptions {
                kind,
                listen,
                control,
                name,
                faults,
                seed,
                aws_secret,
                google_public_key,
            };
            match MockServer::start(options).await {
                Ok(server) => {
                    tracing::info!(addr = %server.addr(), control = ?server.control_addr(), "simulated provider listening");
                    println!("mock provider listening on {}", server.base_url());
                    tokio::select! {
                        () = server.wait() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: cannot listen on {listen}: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Chaos {
            scenario,
            gateway,
            out,
            short,
        } => {
            let options = ChaosOptions {
                gateway_url: gateway,
                launcher: launch::in_process(),
                out,
                short,
                view: View::Bar,
            };
            run_chaos(&scenario, &options).await
        }
        Command::Demo {
            duration,
            listen,
            keep_serving,
        } => {
            let options = DemoOptions {
                duration,
                listen,
                keep_serving,
                launcher: launch::in_process(),
            };
            match demo::run(&options).await {
                Ok(_) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Report { url, window, json } => match report::fetch(&url, &window).await {
            Ok(report) if json => match serde_json::to_string_pretty(&report) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::FAILURE
                }
            },
            Ok(report) => {
                print!("{}", report::table(&report));
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Serve { config } => match Gateway::start(&config).await {
            Ok(gateway) => {
                gateway.run_until_signalled().await;
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn run_chaos(scenario: &std::path::Path, options: &ChaosOptions) -> ExitCode {
    match chaos::run_file(scenario, options).await {
        Ok((report, out)) => {
            println!("{}", chaos::output::table(&report));
            println!("Report written to {}", out.display());
            let missed: Vec<String> = report
                .verdicts
                .iter()
                .filter(|v| v.passed == Some(false))
                .map(|v| format!("{} ({}; target {})", v.name, v.measured, v.target))
                .collect();
            if missed.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!("error: targets missed: {}", missed.join(", "));
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
