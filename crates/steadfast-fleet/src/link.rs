//! The link to Redis: a reconnecting command connection, the key names, the
//! instance id, and whether Redis is usable right now. Every failure is
//! logged (never with the URL), counted in `steadfast_shared_state_errors_total`,
//! and turns the link down until the sync task has checked Redis and
//! resynchronised; while down, callers use their local state and wait on nothing.
//!
//! A server that answers `READONLY` (a primary demoted by a failover, which
//! keeps its connections) marks the link *read-only*: it stays down, and the
//! sync task opens new connections (to wherever the address now leads) until
//! one reaches a writable primary. Without this a demoted primary answers
//! `PING` and reads, so the link came back at once and failed again on the
//! next write — up and down on every request.
//!
//! With `redis+sentinel://` the link asks the Sentinels where the primary is
//! at every (re)connection, so a Sentinel failover is followed the same way:
//! the old primary's connection fails (or answers `READONLY`), the link goes
//! down, and the next connection goes to the primary the Sentinels name.
//!
//! With `redis+cluster://` the command connection is a cluster connection,
//! which sends each command to the node of its key's slot and follows
//! `MOVED`/`ASK` redirections and failovers by itself; pub/sub goes through
//! one seed node (a cluster forwards every message to every node).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{Client, IntoConnectionInfo, RedisResult};
use steadfast_config::{ClusterUrl, SentinelUrl};

use super::connection::Connection;
use tokio::sync::{Notify, mpsc, watch};

/// Background writes held while Redis is away, at most.
const QUEUED: usize = 1024;

/// A write that no request waits for: what it is (for errors) and the command.
pub(super) type Deferred = (&'static str, redis::Cmd);

/// Where the link finds the server to use.
enum Source {
    /// One address (which may itself follow a failover).
    Direct(Client),
    /// Sentinels, asked where the primary is at every (re)connection.
    Sentinel(tokio::sync::Mutex<SentinelClient>),
    /// A Redis Cluster, and a client of each seed node (for pub/sub).
    Cluster {
        client: ClusterClient,
        seeds: Vec<Client>,
    },
}

/// Redis as the fleet's shared state, from one gateway's side.
pub(crate) struct Link {
    source: Source,
    config: ConnectionManagerConfig,
    /// The server's client (for pub/sub) and command connection; none
    /// before the Sentinels first named the primary. Replaced when the
    /// server turned read-only, and at every reconnection through Sentinel.
    current: Mutex<Option<(Client, Connection)>>,
    /// Connections made so far (a cluster's pub/sub turns through its seeds).
    renewals: AtomicUsize,
    /// The server answered `READONLY`, or said it is a replica.
    readonly: AtomicBool,
    /// A new cluster connection is being made because a node refused as a
    /// replica (the map of slots was out of date).
    remapping: AtomicBool,
    prefix: String,
    instance: String,
    timeout: Duration,
    up: watch::Sender<bool>,
    trouble: Notify,
    /// Whether the current outage was logged as a warning.
    reported: AtomicBool,
    deferred: mpsc::Sender<Deferred>,
    queue: Mutex<Option<mpsc::Receiver<Deferred>>>,
    /// Credentials in the URL, scrubbed from error text.
    secrets: Vec<String>,
}

impl Link {
    /// A link to `url` (not connected yet: the sync task connects it).
    /// Must run inside a tokio runtime.
    pub(crate) fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Link, String> {
        let secrets = credentials(url);
        let scrub = |text: String| scrub(&secrets, text);
        let source = Source::open(url, timeout).map_err(scrub)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout(timeout)))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(2));
        let current = match &source {
            Source::Direct(client) => {
                let manager =
                    ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
                        .map_err(|error| {
                            scrub(format!("cannot set up the Redis connection: {error}"))
                        })?;
                Some((client.clone(), Connection::Single(manager)))
            }
            Source::Sentinel(_) | Source::Cluster { .. } => None,
        };
        let rng = steadfast::rng::Rng::from_entropy();
        let (deferred, queue) = mpsc::channel(QUEUED);
        Ok(Link {
            source,
            config,
            current: Mutex::new(current),
            renewals: AtomicUsize::new(0),
            readonly: AtomicBool::new(false),
            remapping: AtomicBool::new(false),
            prefix: prefix.to_owned(),
            instance: format!("{:016x}", rng.next_u64()),
            timeout,
            up: watch::channel(false).0,
            trouble: Notify::new(),
            reported: AtomicBool::new(false),
            deferred,
            queue: Mutex::new(Some(queue)),
            secrets,
        })
    }

    /// This gateway's id among the fleet, tagging what it publishes.
    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    /// The key (or channel) `prefix:part:part…`.
    pub(crate) fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    /// Whether Redis is usable now (connected and resynchronised).
    pub(crate) fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Waits until Redis is usable.
    pub(crate) async fn wait_up(&self) {
        let mut up = self.up.subscribe();
        let _ = up.wait_for(|up| *up).await;
    }

    /// A handle on the command connection, for building a command future;
    /// none before the Sentinels first named the primary.
    pub(crate) fn connection(&self) -> Option<Connection> {
        self.current()
            .as_ref()
            .map(|(_, connection)| connection.clone())
    }

    /// Whether the link is to a Redis Cluster.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.source, Source::Cluster { .. })
    }

    /// The command connection, or why there is none yet.
    pub(crate) fn command_connection(&self) -> Result<Connection, String> {
        self.connection()
            .ok_or_else(|| "the Sentinels have not named the primary yet".to_owned())
    }

    fn current(&self) -> MutexGuard<'_, Option<(Client, Connection)>> {
        // Clones and a replacement are all that is done under the lock: it
        // cannot be left half-done.
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the server answered as a read-only replica since the link
    /// was last up.
    pub(crate) fn is_readonly(&self) -> bool {
        self.readonly.load(Ordering::Relaxed)
    }

    /// Notes that the server is a read-only replica.
    pub(super) fn note_readonly(&self) {
        if !self.readonly.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "shared state: Redis answered as a read-only replica (a failover demoted it); \
                 reconnecting until the address leads to a writable primary"
            );
        }
    }

    /// Whether the next connection should find the server again: through
    /// Sentinel always (the primary may have moved), for one address when
    /// the server turned read-only.
    pub(super) fn needs_renewal(&self) -> bool {
        matches!(self.source, Source::Sentinel(_)) || self.is_readonly() || self.current().is_none()
    }

    /// Through Sentinel, checks that the server in use is still the primary
    /// the Sentinels name: after a failover the old primary may take writes
    /// for a while before it is told to follow the new one, and what is
    /// written there is lost. For one address, nothing to check.
    pub(super) async fn confirm_primary(&self) -> Result<(), String> {
        let Source::Sentinel(sentinels) = &self.source else {
            return Ok(());
        };
        let named = self.named_primary(sentinels).await?;
        let address = |client: &Client| client.get_connection_info().addr().to_string();
        let in_use = self.current().as_ref().map(|(client, _)| address(client));
        if in_use.as_deref() == Some(address(&named).as_str()) {
            Ok(())
        } else {
            Err("the Sentinels name another primary (a failover)".into())
        }
    }

    /// Finds the server to use (the primary the Sentinels name, or whatever
    /// the address leads to now) and replaces the command connection by a
    /// new one to it (not connected yet).
    pub(super) async fn renew(&self) -> Result<(), String> {
        let renewal = self.renewals.fetch_add(1, Ordering::Relaxed);
        let client = match &self.source {
            Source::Direct(client) => client.clone(),
            Source::Sentinel(sentinels) => self.named_primary(sentinels).await?,
            Source::Cluster { client, seeds } => {
                let limit = connect_timeout(self.timeout);
                let connection =
                    match tokio::time::timeout(limit, client.get_async_connection()).await {
                        Ok(Ok(connection)) => connection,
                        Ok(Err(error)) => return Err(scrub(&self.secrets, error.to_string())),
                        Err(_) => return Err(format!("no cluster node answered within {limit:?}")),
                    };
                let seed = seeds[renewal % seeds.len()].clone();
                *self.current() = Some((seed, Connection::Cluster(connection)));
                return Ok(());
            }
        };
        let fresh = ConnectionManager::new_lazy_with_config(client.clone(), self.config.clone())
            .map_err(|error| scrub(&self.secrets, error.to_string()))?;
        *self.current() = Some((client, Connection::Single(fresh)));
        Ok(())
    }

    /// A client of the primary the Sentinels name now, within the connect
    /// timeout.
    async fn named_primary(
        &self,
        sentinels: &tokio::sync::Mutex<SentinelClient>,
    ) -> Result<Client, String> {
        let limit = connect_timeout(self.timeout);
        let asked = async { sentinels.lock().await.async_get_client().await };
        match tokio::time::timeout(limit, asked).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(error)) => Err(scrub(
                &self.secrets,
                format!("the Sentinels did not name the primary: {error}"),
            )),
            Err(_) => Err(format!("no Sentinel answered within {limit:?}")),
        }
    }

    /// A new pub/sub connection, within the connect timeout.
    pub(super) async fn pubsub(&self) -> Result<redis::aio::PubSub, String> {
        let limit = connect_timeout(self.timeout);
        let client = self
            .current()
            .as_ref()
            .map(|(client, _)| client.clone())
            .ok_or("the Sentinels have not named the primary yet")?;
        match tokio::time::timeout(limit, client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => Ok(pubsub),
            Ok(Err(error)) => Err(scrub(&self.secrets, error.to_string())),
            Err(_) => Err(format!("could not connect within {limit:?}")),
        }
    }

    /// Runs `command` if Redis is up; `None` when down or on failure (which
    /// is logged, counted, and turns the link down). A cluster node that
    /// refused as a replica (a primary emptied of its slots follows the one
    /// that took them) does not take the link down: a new cluster connection
    /// learns the new map of slots, and only this command goes without Redis.
    pub(crate) async fn run<T>(
        &self,
        op: &'static str,
        command: impl Future<Output = RedisResult<T>>,
    ) -> Option<T> {
        if !self.is_up() {
            return None;
        }
        match self.attempt(command).await {
            Ok(value) => Some(value),
            Err(Refusal {
                stale_map: true, ..
            }) => {
                if !self.remapping.swap(true, Ordering::AcqRel) {
                    let renewed = self.renew().await;
                    self.remapping.store(false, Ordering::Release);
                    if let Err(reason) = renewed {
                        self.failed(op, &reason);
                    }
                }
                None
            }
            Err(Refusal { reason, .. }) => {
                self.failed(op, &reason);
                None
            }
        }
    }

    /// Runs `command` whatever the link's state, within the timeout.
    pub(super) async fn bounded<T>(
        &self,
        command: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, String> {
        self.attempt(command)
            .await
            .map_err(|refusal| refusal.reason)
    }

    /// Runs `command` within the timeout; a server that refused as a
    /// read-only replica is noted (a cluster's map is out of date, or a
    /// single server was demoted).
    async fn attempt<T>(
        &self,
        command: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, Refusal> {
        match tokio::time::timeout(self.timeout, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                let readonly = is_readonly(&error);
                if readonly && !self.is_cluster() {
                    self.note_readonly();
                }
                Err(Refusal {
                    reason: scrub(&self.secrets, error.to_string()),
                    stale_map: readonly && self.is_cluster(),
                })
            }
            Err(_) => Err(Refusal {
                reason: format!("no answer within {:?}", self.timeout),
                stale_map: false,
            }),
        }
    }

    /// Queues a write for the background writer, which sends it once Redis
    /// is up; past 1 024 waiting writes, new ones are dropped and counted.
    pub(crate) fn later(&self, op: &'static str, command: redis::Cmd) {
        if self.deferred.try_send((op, command)).is_err() {
            metrics::counter!("steadfast_shared_state_errors_total", "op" => op).increment(1);
            tracing::debug!(
                op,
                "shared state: background write dropped, the queue is full"
            );
        }
    }

    /// Sends `command` in the background, if Redis is up, as a write that
    /// may be lost: a refusal by Redis itself (out of memory, say) is
    /// counted and logged at debug level, and only a broken or silent
    /// connection takes the link down. For writes that must not cost the
    /// rest of the shared state its Redis (cached answers).
    pub(crate) fn write_soft(self: &Arc<Self>, op: &'static str, command: redis::Cmd) {
        if !self.is_up() {
            return;
        }
        let link = Arc::clone(self);
        tokio::spawn(async move {
            let Some(mut connection) = link.connection() else {
                return;
            };
            let sent = command.query_async::<redis::Value>(&mut connection);
            match tokio::time::timeout(link.timeout, sent).await {
                Ok(Ok(_)) => {}
                // A cluster's map of slots is out of date: a new one is learnt.
                Ok(Err(error)) if is_readonly(&error) && link.is_cluster() => {
                    if let Err(reason) = link.renew().await {
                        link.failed(op, &reason);
                    }
                }
                Ok(Err(error)) if is_readonly(&error) => {
                    link.note_readonly();
                    link.failed(op, &scrub(&link.secrets, error.to_string()));
                }
                Ok(Err(error))
                    if !(error.is_io_error()
                        || error.is_connection_dropped()
                        || error.is_timeout()) =>
                {
                    metrics::counter!("steadfast_shared_state_errors_total", "op" => op)
                        .increment(1);
                    let reason = scrub(&link.secrets, error.to_string());
                    tracing::debug!(
                        op,
                        reason,
                        "shared state: Redis refused a write that may be lost"
                    );
                }
                Ok(Err(error)) => link.failed(op, &scrub(&link.secrets, error.to_string())),
                Err(_) => link.failed(op, &format!("no answer within {:?}", link.timeout)),
            }
        });
    }

    /// The queue of background writes, for the one writer task.
    pub(super) fn take_queue(&self) -> Option<mpsc::Receiver<Deferred>> {
        self.queue.lock().ok().and_then(|mut queue| queue.take())
    }

    /// Records a failed Redis operation: logged, counted, link down.
    pub(crate) fn failed(&self, op: &'static str, reason: &str) {
        metrics::counter!("steadfast_shared_state_errors_total", "op" => op).increment(1);
        let was_up = self.up.send_replace(false);
        if was_up || !self.reported.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                op,
                reason,
                "shared state: Redis failed; each gateway uses its local state until it is back"
            );
        } else {
            tracing::debug!(op, reason, "shared state: Redis still unavailable");
        }
        self.nudge();
    }

    /// Asks the sync task to check Redis and resynchronise.
    pub(super) fn nudge(&self) {
        self.trouble.notify_one();
    }

    /// Marks Redis usable again (after a resync).
    pub(super) fn set_up(&self) {
        self.reported.store(false, Ordering::Relaxed);
        self.readonly.store(false, Ordering::Relaxed);
        if !self.up.send_replace(true) {
            tracing::info!(instance = %self.instance, "shared state: Redis connected");
        }
    }

    /// Marks Redis unusable without counting an operation (the sync task saw it go).
    pub(super) fn set_down(&self) {
        self.up.send_replace(false);
    }

    /// Resolves when an operation failed since the last call.
    pub(super) async fn trouble(&self) {
        self.trouble.notified().await;
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("prefix", &self.prefix)
            .field("instance", &self.instance)
            .field("up", &self.is_up())
            .finish_non_exhaustive()
    }
}

impl Source {
    /// The source `url` names: Sentinels for `redis+sentinel://`, a cluster
    /// for `redis+cluster://` (each command within `timeout`), else one
    /// address.
    fn open(url: &str, timeout: Duration) -> Result<Source, String> {
        if let Some(cluster) = ClusterUrl::parse(url) {
            return Source::cluster(cluster.map_err(|why| format!("state.url: {why}"))?, timeout);
        }
        let Some(sentinel) = SentinelUrl::parse(url) else {
            return Client::open(url)
                .map(Source::Direct)
                .map_err(|error| format!("state.url is not a usable Redis URL: {error}"));
        };
        let sentinel = sentinel.map_err(|why| format!("state.url: {why}"))?;
        let scheme = if sentinel.tls { "rediss" } else { "redis" };
        // The primary's credentials and database, read by the redis crate
        // from a URL of the same form (the host is never used).
        let userinfo = sentinel
            .userinfo
            .as_deref()
            .map_or(String::new(), |userinfo| format!("{userinfo}@"));
        let db = sentinel.db.unwrap_or(0);
        let primary = format!("{scheme}://{userinfo}primary/{db}")
            .into_connection_info()
            .map_err(|error| format!("state.url: the primary's credentials: {error}"))?;
        let mut node = SentinelNodeConnectionInfo::default()
            .set_redis_connection_info(primary.redis_settings().clone());
        if sentinel.tls {
            node = node.set_tls_mode(redis::TlsMode::Secure);
        }
        let sentinels: Vec<String> = sentinel
            .sentinels
            .iter()
            .map(|host| format!("{scheme}://{host}"))
            .collect();
        SentinelClient::build(
            sentinels,
            sentinel.primary.as_str(),
            Some(node),
            SentinelServerType::Master,
        )
        .map(|client| Source::Sentinel(tokio::sync::Mutex::new(client)))
        .map_err(|error| format!("state.url: the Sentinels: {error}"))
    }
}

impl Source {
    /// A cluster reached through its seed `nodes`.
    fn cluster(cluster: ClusterUrl, timeout: Duration) -> Result<Source, String> {
        let scheme = if cluster.tls { "rediss" } else { "redis" };
        let userinfo = cluster
            .userinfo
            .as_deref()
            .map_or(String::new(), |userinfo| format!("{userinfo}@"));
        let nodes: Vec<String> = cluster
            .nodes
            .iter()
            .map(|node| format!("{scheme}://{userinfo}{node}"))
            .collect();
        let seeds = nodes
            .iter()
            .map(|node| Client::open(node.as_str()))
            .collect::<RedisResult<Vec<Client>>>()
            .map_err(|error| format!("state.url: a cluster node: {error}"))?;
        let client = ClusterClient::builder(nodes)
            .connection_timeout(connect_timeout(timeout))
            .response_timeout(timeout)
            .retries(2)
            .build()
            .map_err(|error| format!("state.url: the cluster: {error}"))?;
        Ok(Source::Cluster { client, seeds })
    }
}

/// Why a command failed, and whether a cluster node refused it as a
/// replica (the cluster connection's map of slots is out of date).
struct Refusal {
    reason: String,
    stale_map: bool,
}

/// Whether Redis refused because it is a read-only replica.
fn is_readonly(error: &redis::RedisError) -> bool {
    error.code() == Some("READONLY") || error.to_string().contains("READONLY")
}

/// Connecting (TCP, TLS, AUTH) may take longer than one command.
fn connect_timeout(timeout: Duration) -> Duration {
    timeout.max(Duration::from_secs(1))
}

/// The user name and password of a Redis URL (or of a Sentinel URL's
/// primary), if any, as written.
fn credentials(url: &str) -> Vec<String> {
    let several = match (SentinelUrl::parse(url), ClusterUrl::parse(url)) {
        (Some(sentinel), _) => Some(sentinel.map(|sentinel| sentinel.userinfo)),
        (None, Some(cluster)) => Some(cluster.map(|cluster| cluster.userinfo)),
        (None, None) => None,
    };
    let (user, password) = match several {
        Some(Ok(userinfo)) => {
            let userinfo = userinfo.unwrap_or_default();
            let (user, password) = userinfo.split_once(':').unwrap_or((&userinfo, ""));
            (user.to_owned(), password.to_owned())
        }
        Some(Err(_)) => return Vec::new(),
        None => match url::Url::parse(url) {
            Ok(parsed) => (
                parsed.username().to_owned(),
                parsed.password().unwrap_or_default().to_owned(),
            ),
            Err(_) => return Vec::new(),
        },
    };
    [user, password]
        .into_iter()
        .filter(|part| part.len() >= 3)
        .collect()
}

/// `text` with every secret replaced by `***`.
fn scrub(secrets: &[String], mut text: String) -> String {
    for secret in secrets {
        text = text.replace(secret.as_str(), "***");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_show_credentials() {
        let secrets = credentials("redis://fleet:hunter22@db.internal:6379/0");
        assert_eq!(secrets, ["fleet", "hunter22"]);
        assert_eq!(
            scrub(&secrets, "auth as fleet with hunter22 failed".into()),
            "auth as *** with *** failed"
        );
        let sentinel = credentials("redis+sentinel://fleet:hunter22@s1:26379,s2/mymaster");
        assert_eq!(sentinel, ["fleet", "hunter22"]);
    }
}
