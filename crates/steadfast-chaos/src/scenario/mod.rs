//! The scenario file of `steadfast chaos`: traffic, the gateway to drive,
//! simulated providers, a timeline of faults and the targets to judge by.
//! Durations are written as in the config (`250ms`, `30s`).

mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use steadfast_config::ConfigDuration;

/// A chaos scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The scenario's name (names the output folder).
    pub name: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// Seed of the faults and of the traffic's randomness.
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    /// How long traffic runs.
    pub duration: ConfigDuration,
    /// The length of the short form (`--short`); the steps' starts and
    /// lengths scale with it. Default: the shorter of `duration` and 5 s.
    #[serde(default)]
    pub short: Option<ConfigDuration>,
    /// The requests to send.
    pub traffic: Traffic,
    /// Simulated providers started in-process, by name; the gateway config
    /// gets a provider of the same name for each.
    #[serde(default)]
    pub mocks: BTreeMap<String, MockSpec>,
    /// The gateway to drive.
    pub gateway: GatewaySpec,
    /// The fault timeline.
    #[serde(default)]
    pub faults: Vec<FaultStep>,
    /// What the run is judged against.
    #[serde(default)]
    pub targets: Targets,
}

/// The traffic generator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Requests started per second (open loop); or set `concurrency`.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Clients sending back to back (closed loop); or set `rate`.
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Routes to call, picked at random per request.
    pub routes: Vec<String>,
    /// Fewest and most words in a prompt.
    #[serde(default = "defaults::prompt_words")]
    pub prompt_words: [u32; 2],
    /// Share of requests (0 to 1) sent with `stream: true`.
    #[serde(default)]
    pub stream_share: f64,
    /// The client's timeout per request.
    #[serde(default = "defaults::request_timeout")]
    pub timeout: ConfigDuration,
    /// Classes of clients, by name: each request is sent with one class's
    /// key, picked by the classes' shares; none sends no key.
    #[serde(default)]
    pub clients: BTreeMap<String, ClientClass>,
    /// Whether requests are deterministic (`temperature: 0`), so a route's
    /// cache may keep their answers.
    #[serde(default)]
    pub deterministic: bool,
}

/// A class of clients in the traffic.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientClass {
    /// The key its requests carry (`Authorization: Bearer`).
    pub key: String,
    /// Its share of the requests (the shares are weights).
    pub share: f64,
}

/// A simulated provider started in-process.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MockSpec {
    /// Latency of every answer.
    pub latency: Option<ConfigDuration>,
    /// Pause between streamed chunks.
    pub chunk_interval: Option<ConfigDuration>,
}

/// The gateway: a config to start in-process (inline or a file), or the URL
/// of a running one with the control URLs of its simulated providers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySpec {
    /// A gateway config, inline; `providers` for the mocks are added.
    pub config: Option<serde_yaml_ng::Value>,
    /// A gateway config file, relative to the scenario file.
    pub config_file: Option<PathBuf>,
    /// A running gateway (remote mode).
    pub url: Option<String>,
    /// Remote mode: each simulated provider's control URL, by the gateway's
    /// provider name (`http://127.0.0.1:9101`, serving `PUT /_mock/faults`).
    pub controls: BTreeMap<String, String>,
}

/// One fault on one provider (`"*"`: on every provider).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultStep {
    /// The provider's name, or `"*"`.
    pub target: String,
    /// When it starts.
    pub at: ConfigDuration,
    /// How long it lasts; until the end if unset.
    #[serde(default, rename = "for")]
    pub lasts: Option<ConfigDuration>,
    /// What goes wrong.
    pub fault: FaultKind,
}

/// What goes wrong with a provider.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// Answers fail with `status`; a `rate` below 1 fails that share with 500s.
    Error {
        /// The status of failed answers.
        #[serde(default = "defaults::status")]
        status: u16,
        /// Share of answers that fail.
        #[serde(default = "defaults::rate")]
        rate: f64,
    },
    /// Every answer takes `added` longer.
    Latency {
        /// The added latency.
        added: ConfigDuration,
    },
    /// Requests are never answered (the gateway's timeout ends them).
    Hang {},
    /// Connections are refused.
    Refuse {},
    /// Every request gets a 429 with `Retry-After`.
    RateLimit {
        /// The `Retry-After` sent.
        #[serde(default = "defaults::retry_after")]
        retry_after: ConfigDuration,
    },
    /// Streams break after `after_chunks` chunks.
    CutStream {
        /// Chunks sent before the break.
        #[serde(default = "defaults::after_chunks")]
        after_chunks: u32,
    },
    /// Down (503s) and up in turns of `every`, down first.
    Flap {
        /// The length of each turn.
        every: ConfigDuration,
    },
    /// Latency starts `added` higher and decays linearly to normal over the step.
    SlowRecovery {
        /// The latency added at the start.
        added: ConfigDuration,
    },
    /// Every `every`, one provider (of the step's targets) picked at random
    /// gets a fault picked at random: error, refuse, hang, rate limit or latency.
    Random {
        /// How long each random fault lasts.
        every: ConfigDuration,
    },
}

/// The targets a run is judged against (the original plan's by default).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Targets {
    /// Least availability while at least one provider is up.
    pub availability: f64,
    /// Longest time from a fault's end to traffic back on the provider.
    pub recovery: ConfigDuration,
    /// Largest share of requests during faults that saw an error or a retry.
    pub impact: f64,
    /// Largest rise of p50 latency during failover over steady state (0.1 = +10%).
    pub fallback_latency: f64,
    /// Least throughput during faults as a share of steady state.
    pub degraded_throughput: f64,
    /// Largest latency the gateway adds over the providers' at p50 in steady
    /// state, as a share of theirs.
    pub overhead: f64,
    /// Slowest (p99) error answer while every provider is down.
    pub fast_fail: ConfigDuration,
    /// Least availability of a class of clients (`traffic.clients`) while
    /// at least one provider is up, by class.
    pub classes: BTreeMap<String, f64>,
    /// Least availability of repeated requests (a route and prompt answered
    /// before) while every provider is down: what a route's cache keeps up.
    pub repeats_while_down: Option<f64>,
}

impl Default for Targets {
    fn default() -> Targets {
        Targets {
            availability: 0.999,
            recovery: ConfigDuration::secs(30),
            impact: 0.05,
            fallback_latency: 0.10,
            degraded_throughput: 0.90,
            overhead: 0.20,
            fast_fail: ConfigDuration::millis(100),
            classes: BTreeMap::new(),
            repeats_while_down: None,
        }
    }
}

impl FaultKind {
    /// A short label, e.g. `error 500`, `latency +500ms`.
    pub fn label(&self) -> String {
        use steadfast_config::format_duration as d;
        match self {
            FaultKind::Error { status, rate } if *rate >= 1.0 => format!("error {status}"),
            FaultKind::Error { rate, .. } => format!("errors {:.0}%", rate * 100.0),
            FaultKind::Latency { added } => format!("latency +{}", d(added.0)),
            FaultKind::Hang {} => "hang".into(),
            FaultKind::Refuse {} => "refuse".into(),
            FaultKind::RateLimit { retry_after } => format!("429 retry-after {}", d(retry_after.0)),
            FaultKind::CutStream { after_chunks } => format!("streams cut after {after_chunks}"),
            FaultKind::Flap { every } => format!("flapping every {}", d(every.0)),
            FaultKind::SlowRecovery { added } => format!("slow recovery from +{}", d(added.0)),
            FaultKind::Random { every } => format!("random faults every {}", d(every.0)),
        }
    }

    /// Whether the provider is down (not merely slow or streaming badly).
    pub fn is_down(&self) -> bool {
        match self {
            FaultKind::Error { rate, .. } => *rate >= 1.0,
            FaultKind::Hang {} | FaultKind::Refuse {} | FaultKind::RateLimit { .. } => true,
            FaultKind::Flap { .. } | FaultKind::Random { .. } => true,
            FaultKind::Latency { .. }
            | FaultKind::CutStream { .. }
            | FaultKind::SlowRecovery { .. } => false,
        }
    }
}

impl Scenario {
    /// Reads a scenario file; a `config_file` is resolved against its folder.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| anyhow::anyhow!("{}: cannot read: {error}", path.display()))?;
        let mut scenario = Scenario::parse(&text)
            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
        if let (Some(file), Some(dir)) = (&mut scenario.gateway.config_file, path.parent()) {
            *file = dir.join(&*file);
        }
        Ok(scenario)
    }

    /// Parses and checks a scenario (YAML merge keys `<<` allowed).
    pub fn parse(text: &str) -> anyhow::Result<Scenario> {
        let mut value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)?;
        value.apply_merge()?;
        let scenario: Scenario = serde_path_to_error::deserialize(value)
            .map_err(|error| anyhow::anyhow!("{}: {}", error.path(), error.inner()))?;
        let problems = validate::problems(&scenario);
        if problems.is_empty() {
            Ok(scenario)
        } else {
            anyhow::bail!("{}", problems.join("; "))
        }
    }

    /// The length of the short form.
    pub fn short_duration(&self) -> Duration {
        self.short
            .map_or_else(|| self.duration.0.min(Duration::from_secs(5)), |d| d.0)
    }

    /// The same scenario lasting `total`, the starts and lengths of its steps
    /// scaled; the periods of flapping and random faults are kept, as they
    /// belong to the fault, not to the timeline.
    pub fn scaled_to(mut self, total: Duration) -> Scenario {
        let factor = total.as_secs_f64() / self.duration.0.as_secs_f64().max(1e-3);
        let scale = |d: &mut ConfigDuration| d.0 = d.0.mul_f64(factor);
        scale(&mut self.duration);
        for step in &mut self.faults {
            scale(&mut step.at);
            if let Some(lasts) = &mut step.lasts {
                scale(lasts);
            }
        }
        self
    }
}

mod defaults {
    use steadfast_config::ConfigDuration;

    pub(super) fn seed() -> u64 {
        1
    }
    pub(super) fn prompt_words() -> [u32; 2] {
        [5, 40]
    }
    pub(super) fn request_timeout() -> ConfigDuration {
        ConfigDuration::secs(30)
    }
    pub(super) fn status() -> u16 {
        500
    }
    pub(super) fn rate() -> f64 {
        1.0
    }
    pub(super) fn retry_after() -> ConfigDuration {
        ConfigDuration::secs(1)
    }
    pub(super) fn after_chunks() -> u32 {
        3
    }
}
