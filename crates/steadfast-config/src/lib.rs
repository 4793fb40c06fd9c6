//! The gateway's config: one YAML (or JSON) file read into [`Config`], with
//! `${NAME}` taken from the environment, and checked as a whole so every
//! mistake is reported at once with its file, key path and reason.
//!
//! Read into raw serde types ([`Config`] and its parts, every one refusing
//! unknown keys), then validated as a whole; the proxy builds its runtime
//! from a validated `Config`. This crate knows nothing of what runs it.

mod alerts;
mod duration;
mod env;
mod providers;
mod state;
mod strategy_values;
mod types;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use alerts::{
    AlertRule, AlertsConfig, ChannelConfig, EmailChannel, RuleKind, SlackChannel, SmtpTls,
    WebhookChannel,
};
pub use duration::{ConfigDuration, format_duration, parse_duration};
pub use env::{Redactor, Secret};
pub use providers::{ServiceAccount, read_service_account};
pub use state::{CLUSTER_PORT, ClusterUrl, REDIS_SCHEMES, SENTINEL_PORT, SentinelUrl};
pub use strategy_values::{FailoverKind, HedgeAfter, parse_hedge_after};
pub use types::*;

/// One thing wrong with a config: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path, e.g. `routes.chat.targets[1]`; empty for the whole file.
    pub path: String,
    /// What is wrong, never quoting a secret.
    pub reason: String,
}

impl Problem {
    fn new(path: impl Into<String>, reason: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// A config that cannot be used, with every problem found in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file read.
    pub file: PathBuf,
    /// What is wrong with it.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match self.problems.as_slice() {
            [one] if one.path.is_empty() => write!(f, "{file}: {}", one.reason),
            [one] => write!(f, "{file}: {}: {}", one.path, one.reason),
            many => {
                write!(f, "{file}: {} problems:", many.len())?;
                for problem in many {
                    if problem.path.is_empty() {
                        write!(f, "\n  - {}", problem.reason)?;
                    } else {
                        write!(f, "\n  - {}: {}", problem.path, problem.reason)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Reads and checks the config file at `path`, taking `${NAME}` from the
/// process environment.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        file: path.to_owned(),
        problems: vec![Problem::new("", format!("cannot read the file: {error}"))],
    })?;
    parse(&text, path, &|name| std::env::var(name).ok())
}

/// Parses and checks config `text` (YAML or JSON) read from `file`, taking
/// `${NAME}` from `lookup`.
pub fn parse(
    text: &str,
    file: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let fail = |problems: Vec<Problem>| ConfigError {
        file: file.to_owned(),
        problems,
    };
    let mut value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|error| {
        fail(vec![Problem::new(
            "",
            format!("not valid YAML or JSON: {error}"),
        )])
    })?;
    let redactor = env::substitute(&mut value, lookup).map_err(|errors| {
        fail(
            errors
                .into_iter()
                .map(|(path, reason)| Problem::new(path, reason))
                .collect(),
        )
    })?;
    let mut config: Config = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let reason = redactor.redact(&error.into_inner().to_string());
        fail(vec![Problem::new(path, reason)])
    })?;
    providers::fill_cloud_credentials(&mut config, lookup);
    let problems = validate::validate(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(fail(
            problems
                .into_iter()
                .map(|p| Problem::new(p.path, redactor.redact(&p.reason)))
                .collect(),
        ))
    }
}

/// The JSON Schema of the config file, for editors.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Config)).unwrap_or_default()
}

impl Config {
    /// Every secret the config holds — providers' credentials, client keys,
    /// the gateway's tokens, Redis' URL, alert channels' credentials — for
    /// masking wherever outside text could echo one.
    pub fn secrets(&self) -> Vec<&Secret> {
        let providers = self.providers.values().flat_map(|p| {
            [
                &p.api_key,
                &p.bearer_token,
                &p.access_key_id,
                &p.secret_access_key,
                &p.session_token,
            ]
        });
        let server = [&self.server.admin_token, &self.server.ops_token];
        let channels = self
            .alerts
            .channels
            .values()
            .flat_map(|channel| match channel {
                ChannelConfig::Slack(slack) => [Some(&slack.webhook_url), None],
                ChannelConfig::Webhook(webhook) => [webhook.secret.as_ref(), None],
                ChannelConfig::Email(email) => [email.username.as_ref(), email.password.as_ref()],
            });
        let state = match &self.state {
            StateConfig::Redis { url, .. } => Some(url),
            StateConfig::Memory => None,
        };
        providers
            .chain(server)
            .filter_map(Option::as_ref)
            .chain(self.clients.values().map(|client| &client.key))
            .chain(channels.flatten())
            .chain(state)
            .collect()
    }

    /// A one-paragraph summary for `steadfast check`.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{} provider(s), {} model(s), {} route(s)",
            self.providers.len(),
            self.models.len(),
            self.routes.len()
        );
        for (name, route) in &self.routes {
            out.push_str(&format!(
                "\n  route {name}: {} over {}",
                route.strategy.as_str(),
                route.targets.join(", ")
            ));
            let mut degrades = Vec::new();
            if let Some(cache) = &route.cache {
                degrades.push(match cache.mode {
                    CacheMode::Normal => "cache",
                    CacheMode::StaleIfError => "stale answers",
                });
            }
            if route.last_answer.is_some() {
                degrades.push("a last answer");
            }
            if route.shedding.is_some() {
                degrades.push("priority shedding");
            }
            if !degrades.is_empty() {
                out.push_str(&format!(", with {}", degrades.join(", ")));
            }
        }
        out
    }

    /// What is valid but likely not meant, for `steadfast check` and the
    /// start of `steadfast serve`.
    pub fn warnings(&self) -> Vec<String> {
        let server = &self.server;
        let public = server
            .listen
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|addr| !addr.ip().is_loopback());
        let mut warnings = Vec::new();
        if public && server.ops_token.is_none() && server.ops_listen.is_none() {
            warnings.push(
                "server.listen: not a loopback address and neither server.ops_token nor \
                 server.ops_listen is set: that listener serves the model API and /health only \
                 (the operations surface answers 403)"
                    .to_owned(),
            );
        }
        let public_ops = server
            .ops_listen
            .as_deref()
            .and_then(|ops| ops.parse::<std::net::SocketAddr>().ok())
            .is_some_and(|addr| !addr.ip().is_loopback());
        if public_ops && server.ops_token.is_none() {
            warnings.push(
                "server.ops_listen: not a loopback address and server.ops_token is not set: \
                 whoever reaches it sees every target's state (keep it inside your network, \
                 or set server.ops_token)"
                    .to_owned(),
            );
        }
        for (name, route) in &self.routes {
            if route.shedding.as_ref().is_some_and(|s| s.shares.is_some()) {
                warnings.push(format!(
                    "routes.{name}.shedding.shares: no longer used — the route's capacity is \
                     not divided into shares any more; requests wait for a place by priority \
                     (shedding.max_wait)"
                ));
            }
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(settings: &str) -> Result<Config, ConfigError> {
        let text = format!(
            "server: {{ {settings} }}\nproviders:\n  p: {{ kind: openai, base_url: \"http://127.0.0.1:1/v1\" }}\n\
             models:\n  m: {{ provider: p, model: x }}\nroutes:\n  chat: {{ targets: [m] }}\n"
        );
        parse(&text, Path::new("steadfast.yaml"), &|_| None)
    }

    #[test]
    fn serving_threads_default_to_one_per_cpu_and_zero_is_refused() {
        assert_eq!(server("").unwrap().server.threads, None);
        assert_eq!(server("threads: 3").unwrap().server.threads, Some(3));
        let error = server("threads: 0").unwrap_err().to_string();
        assert!(
            error.contains("server.threads: must be at least 1"),
            "{error}"
        );
    }

    #[test]
    fn the_old_shedding_shares_are_taken_with_a_warning() {
        let text = "providers:\n  p: { kind: openai, base_url: \"http://127.0.0.1:1/v1\" }\n\
                    models:\n  m: { provider: p, model: x, max_concurrency: 4 }\n\
                    routes:\n  chat: { targets: [m], shedding: { shares: { low: 0.5 } } }\n";
        let config = parse(text, Path::new("steadfast.yaml"), &|_| None).unwrap();
        let warnings = config.warnings();
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("routes.chat.shedding.shares: no longer used")),
            "{warnings:?}"
        );
        let waits = &config.routes["chat"].shedding.as_ref().unwrap().max_wait;
        assert_eq!(waits.of(Priority::Low), std::time::Duration::from_secs(1));
    }

    fn model(settings: &str, route: &str) -> Result<Config, ConfigError> {
        let text = format!(
            "providers:\n  p: {{ kind: openai, base_url: \"http://127.0.0.1:1/v1\" }}\n\
             models:\n  m: {{ provider: p, model: x, {settings} }}\nroutes:\n  chat: {{ targets: [m], {route} }}\n"
        );
        parse(&text, Path::new("steadfast.yaml"), &|_| None)
    }

    #[test]
    fn an_adaptive_limit_is_checked_and_bounds_a_shedding_route() {
        let config = model("adaptive_concurrency: {}", "shedding: {}").unwrap();
        let adaptive = config.models["m"].adaptive_concurrency.as_ref().unwrap();
        assert_eq!((adaptive.initial, adaptive.min), (8, 1));
        for (settings, key, why) in [
            (
                "adaptive_concurrency: { initial: 0 }",
                "initial",
                "must be at least 1",
            ),
            (
                "adaptive_concurrency: { backoff: 0.3 }",
                "backoff",
                "must be between 0.5 and 0.99",
            ),
            (
                "adaptive_concurrency: { min: 9 }, max_concurrency: 4",
                "min",
                "must not be above max_concurrency (4)",
            ),
            (
                "adaptive_concurrency: { slow_call: 0s }",
                "slow_call",
                "must be greater than 0",
            ),
        ] {
            let error = model(settings, "").unwrap_err().to_string();
            let expected = format!("models.m.adaptive_concurrency.{key}: {why}");
            assert!(error.contains(&expected), "{settings}: {error}");
        }
        let error = model("", "shedding: {}").unwrap_err().to_string();
        assert!(
            error.contains("routes.chat.shedding.capacity: needed: not every target has max_concurrency or adaptive_concurrency (m has neither)"),
            "{error}"
        );
    }
}
