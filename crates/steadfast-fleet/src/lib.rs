//! State shared by a fleet of gateways behind one load balancer
//! (`state: { backend: redis, url: … }`); the default keeps everything in
//! this process. This crate implements the proxy's [`Fleet`] seam on Redis
//! and runs the tasks that keep breakers in step across the fleet.
//!
//! | what | how, in Redis | hot path |
//! |---|---|---|
//! | breaker transitions | hash `{prefix}:breakers` + pub/sub `{prefix}:breaker-changes` (module `breakers`) | local breaker, updated by subscription: no Redis call |
//! | health probes | a lease per model (`SET NX PX`) and its result (module `probes`) | none |
//! | rate limits (models, clients) | one Lua GCRA script per check, by `EVALSHA` (modules `limit`, `scripts`) | one round trip |
//! | audit log | stream `{prefix}:audit` (`XADD MAXLEN ~`) ([`AuditStream`]) | none (background) |
//! | cached answers | string `{prefix}:answers:{route}:{digest}` with the route's TTL (`SET PX`) (module `answers`) | one `GET` per lookup; writes in the background |
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
//! ([`StateConfig`]'s `timeout`), a failure is logged and
//! counted (`steadfast_shared_state_errors_total{op}`), and the link turns
//! down, so the hot path uses the local state without waiting until the sync
//! task has reconnected (with backoff) and resynchronised: it publishes the
//! breakers that changed meanwhile and every one not closed, then adopts the
//! fleet's records. The local state is kept up to date all along, so nothing
//! is lost in between.

mod answers;
mod audit;
mod breakers;
mod connection;
mod limit;
mod link;
mod probes;
mod scripts;
mod sync;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use steadfast::rate_limit::Quota;
use steadfast_config::StateConfig;
use steadfast_proxy::Proxy;
use steadfast_proxy::fleet::{Fleet, FleetAnswers, FleetLimit, Probe, ProbeResult};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use answers::SharedAnswers;
pub use audit::AuditStream;
use limit::SharedLimit;
use link::Link;

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

    /// Why the fleet's state is not in use though Redis answers: `readonly`
    /// while the server is a replica (a failover demoted it) and no
    /// connection has reached the new primary yet.
    pub fn degraded(&self) -> Option<&'static str> {
        self.link
            .as_ref()
            .filter(|link| !link.is_up() && link.is_readonly())
            .map(|_| "readonly")
    }

    /// The proxy's seam to the fleet; `None` for memory.
    pub fn fleet(&self) -> Option<Arc<dyn Fleet>> {
        self.link
            .as_ref()
            .map(|link| Arc::new(RedisFleet(Arc::clone(link))) as Arc<dyn Fleet>)
    }

    /// Starts the background tasks of a shared state for `proxy`; none for
    /// memory. They end when `stop` turns true.
    pub fn spawn(&self, proxy: &Arc<Proxy>, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        match &self.link {
            Some(link) => sync::spawn(proxy, link, stop),
            None => Vec::new(),
        }
    }
}

/// How long `steadfast check` waits for Redis.
const CHECK_WITHIN: Duration = Duration::from_secs(5);

/// Reaches the Redis of `config` as a gateway would (TLS and credentials
/// from the URL) and asks its role, for `steadfast check`: `Ok(None)` for
/// the memory backend, `Ok(Some(role))` (`master`, `slave` for a read-only
/// replica, `cluster` for a cluster whose every node answered), or why not,
/// naming `state.url` and never its credentials.
pub async fn check_redis(config: &StateConfig) -> Result<Option<String>, String> {
    let StateConfig::Redis { url, .. } = config else {
        return Ok(None);
    };
    let link = Link::new(url.expose(), "check", CHECK_WITHIN)?;
    link.renew()
        .await
        .map_err(|error| format!("state.url: {error}"))?;
    let mut connection = link.command_connection()?;
    if link.is_cluster() {
        link.bounded(redis::cmd("PING").query_async::<()>(&mut connection))
            .await
            .map_err(|error| format!("state.url: cannot use the cluster: {error}"))?;
        return Ok(Some("cluster".into()));
    }
    let role = link
        .bounded(redis::cmd("ROLE").query_async::<Vec<redis::Value>>(&mut connection))
        .await
        .map_err(|error| format!("state.url: cannot use Redis: {error}"))?;
    match role.first() {
        Some(redis::Value::BulkString(name)) => {
            Ok(Some(String::from_utf8_lossy(name).into_owned()))
        }
        _ => Err("state.url: Redis answered ROLE with no role".into()),
    }
}

/// The fleet as the proxy sees it: limits and probes through Redis.
#[derive(Debug)]
struct RedisFleet(Arc<Link>);

impl Fleet for RedisFleet {
    fn limit(
        &self,
        scope: &str,
        requests: Option<Quota>,
        units: Option<Quota>,
    ) -> Box<dyn FleetLimit> {
        Box::new(SharedLimit::new(&self.0, scope, requests, units))
    }

    fn probe(
        &self,
        model: &str,
        interval: Duration,
        wait: Duration,
        probe: Probe,
    ) -> BoxFuture<'static, ProbeResult> {
        let (link, model) = (Arc::clone(&self.0), model.to_owned());
        Box::pin(async move { probes::probe(&link, &model, interval, wait, probe).await })
    }

    fn answers(&self) -> Arc<dyn FleetAnswers> {
        Arc::new(SharedAnswers(Arc::clone(&self.0)))
    }

    fn lease(&self, name: &str, ttl: Duration) -> BoxFuture<'static, bool> {
        let (link, name) = (Arc::clone(&self.0), name.to_owned());
        Box::pin(async move { probes::lease(&link, &name, ttl).await })
    }
}
