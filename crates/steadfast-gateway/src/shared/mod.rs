//! State shared by a fleet of gateways behind one load balancer
//! (`state: { backend: redis, url: … }`); the default keeps everything in
//! this process.
//!
//! | what | how, in Redis | hot path |
//! |---|---|---|
//! | breaker transitions | hash `{prefix}:breakers` + pub/sub `{prefix}:breaker-changes` (module `breakers`) | local breaker, updated by subscription: no Redis call |
//! | health probes | a lease per model (`SET NX PX`) and its result ([`probe`]) | none |
//! | rate limits (models, clients) | one Lua GCRA script per check ([`Limiter`]) | one round trip |
//! | audit log | stream `{prefix}:audit` (`XADD MAXLEN ~`) ([`AuditStream`]) | none (background) |
//!
//! **Why pub/sub for breakers.** A transition must reach every instance
//! within a second, and a closed breaker must cost no Redis call. Pub/sub
//! pushes a change to every subscriber in about a round trip, with nothing to
//! poll; its one weakness — a message sent while an instance is disconnected
//! is lost — is covered by the hash, which holds each breaker's last shared
//! state and is re-read on every (re)connection. Keyspace notifications need
//! server config; streams would need every instance to poll or block a
//! connection per read, for no gain at this message rate.
//!
//! **When Redis fails** no request fails: every operation has a short timeout
//! ([`crate::config::StateConfig`]'s `timeout`), a failure is logged and
//! counted (`steadfast_shared_state_errors_total{op}`), and the link turns
//! down, so the hot path uses the local state without waiting until the sync
//! task has reconnected (with backoff) and resynchronised: it publishes the
//! breakers that changed meanwhile and every one not closed, then adopts the
//! fleet's records. The local state is kept up to date all along, so nothing
//! is lost in between.

mod audit;
mod breakers;
mod limit;
mod link;
mod probes;
mod sync;

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use audit::AuditStream;
pub use limit::{Limiter, SharedLimit};
pub use link::Link;
pub use probes::probe;

use crate::config::StateConfig;
use crate::server::AppState;

/// URL schemes the `redis` crate connects to with a plain URL.
const SCHEMES: [&str; 7] = [
    "redis",
    "rediss",
    "valkey",
    "valkeys",
    "redis+unix",
    "valkey+unix",
    "unix",
];

/// Where this gateway keeps the state it shares with its fleet.
#[derive(Debug, Clone, Default)]
pub struct SharedState {
    link: Option<Arc<Link>>,
    audit: Option<AuditStream>,
}

impl SharedState {
    /// The shared state `config` asks for (Redis is connected later, by
    /// [`SharedState::spawn`]). Must run inside a tokio runtime.
    pub fn from_config(config: &StateConfig) -> Result<SharedState, String> {
        match config {
            StateConfig::Memory => Ok(SharedState::default()),
            StateConfig::Redis {
                url,
                key_prefix,
                timeout,
                audit_max_len,
            } => {
                let link = Arc::new(Link::new(url.expose(), key_prefix, timeout.0)?);
                Ok(SharedState {
                    audit: Some(AuditStream::new(&link, *audit_max_len)),
                    link: Some(link),
                })
            }
        }
    }

    /// The link to Redis, when the state is shared.
    pub fn link(&self) -> Option<&Arc<Link>> {
        self.link.as_ref()
    }

    /// The audit stream, when the state is shared.
    pub fn audit_stream(&self) -> Option<&AuditStream> {
        self.audit.as_ref()
    }

    /// `memory` or `redis`.
    pub fn backend(&self) -> &'static str {
        if self.link.is_some() {
            "redis"
        } else {
            "memory"
        }
    }

    /// Whether the fleet's state is in use now (always for memory).
    pub fn is_connected(&self) -> bool {
        self.link.as_ref().is_none_or(|link| link.is_up())
    }

    /// Starts the background tasks of a shared state; none for memory.
    pub fn spawn(app: &Arc<AppState>, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        match app.shared.link() {
            Some(link) => sync::spawn(app, link, stop),
            None => Vec::new(),
        }
    }
}

/// What is wrong with a `state` section, as (key path, reason); never quotes the URL.
pub fn config_problems(config: &StateConfig) -> Vec<(String, String)> {
    let StateConfig::Redis {
        url,
        key_prefix,
        timeout,
        ..
    } = config
    else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    match redis::parse_redis_url(url.expose()) {
        Some(parsed) if SCHEMES.contains(&parsed.scheme()) => {}
        _ => problems.push((
            "state.url".to_owned(),
            format!(
                "not a Redis URL: write redis://[user:password@]host:port[/db], rediss:// for TLS, or redis+unix:///path (schemes: {})",
                SCHEMES.join(", ")
            ),
        )),
    }
    if key_prefix.is_empty() || key_prefix.contains(char::is_whitespace) {
        problems.push((
            "state.key_prefix".to_owned(),
            "must be non-empty, without spaces".to_owned(),
        ));
    }
    if timeout.0.is_zero() {
        problems.push((
            "state.timeout".to_owned(),
            "must be greater than 0".to_owned(),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{self, ConfigDuration};

    #[test]
    fn redis_state_reads_its_url_from_the_environment_and_never_prints_it() {
        let yaml = "providers: { p: { kind: openai, base_url: \"http://127.0.0.1:1/v1\" } }\n\
                    models: { m: { provider: p, model: x } }\n\
                    routes: { chat: { targets: [m] } }\n\
                    state: { backend: redis, url: \"${REDIS_URL}\" }\n";
        let env = |name: &str| {
            (name == "REDIS_URL").then(|| "rediss://fleet:hunter22@redis.internal:6380/1".into())
        };
        let config = config::parse(yaml, Path::new("s.yaml"), &env).unwrap();
        let StateConfig::Redis {
            url,
            key_prefix,
            timeout,
            audit_max_len,
        } = &config.state
        else {
            panic!("not redis: {:?}", config.state);
        };
        assert_eq!(
            url.expose(),
            "rediss://fleet:hunter22@redis.internal:6380/1"
        );
        assert_eq!(
            (key_prefix.as_str(), *timeout, *audit_max_len),
            ("steadfast", ConfigDuration::millis(250), 10_000)
        );
        assert!(!format!("{:?}", config.state).contains("hunter22"));

        let bad = yaml.replace("${REDIS_URL}", "http://fleet:hunter22@x");
        let error = config::parse(&bad, Path::new("s.yaml"), &env).unwrap_err();
        assert_eq!(error.problems[0].path, "state.url");
        assert!(!error.to_string().contains("hunter22"), "{error}");
    }
}
