//! The seam to a fleet of gateways that share state: a rate limit held for
//! the whole fleet, health probes run once per fleet rather than once per
//! gateway, the store of cached answers, and leases for jobs one gateway
//! does for all (recovery probes). The proxy asks through these traits and works alone without an
//! implementation (`state: memory`); `steadfast-fleet` implements them on
//! Redis. Every method is allowed to fail over to local state: the hot path
//! never waits on the fleet longer than its implementation's own timeout.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use steadfast::rate_limit::Quota;

/// A health probe, run at most once (by this gateway or not at all).
pub type Probe = Box<dyn FnOnce() -> BoxFuture<'static, ProbeResult> + Send>;

/// What a probe found: healthy, or why not.
pub type ProbeResult = Result<(), String>;

/// State this gateway shares with its fleet.
pub trait Fleet: Send + Sync + fmt::Debug {
    /// The fleet-wide form of the limit of `scope` (`model:gpt`,
    /// `client:team-a`) with these quotas.
    fn limit(
        &self,
        scope: &str,
        requests: Option<Quota>,
        units: Option<Quota>,
    ) -> Box<dyn FleetLimit>;

    /// Runs `probe` of `model` if this gateway is the one to probe it in this
    /// `interval`, else returns the fleet's latest result (waiting up to
    /// `wait` for a first one); runs `probe` itself when the fleet cannot be
    /// asked.
    fn probe(
        &self,
        model: &str,
        interval: Duration,
        wait: Duration,
        probe: Probe,
    ) -> BoxFuture<'static, ProbeResult>;

    /// The fleet's store of cached answers.
    fn answers(&self) -> Arc<dyn FleetAnswers>;

    /// Whether this gateway holds the lease `name` for the next `ttl` (taken
    /// when free, extended when already its own), so one gateway of the
    /// fleet does a job; `true` when the fleet cannot be asked.
    fn lease(&self, name: &str, ttl: Duration) -> BoxFuture<'static, bool>;
}

/// Answers cached for the whole fleet, each value bounded by the caller.
pub trait FleetAnswers: Send + Sync + fmt::Debug {
    /// The value kept under `key`: `Ok(None)` when there is none, `Err(())`
    /// when the store cannot be asked now (the request goes without the cache).
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<Bytes>, ()>>;

    /// Keeps `value` under `key` for `ttl`, in the background.
    fn put(&self, key: &str, value: Bytes, ttl: Duration);
}

/// One limit held for the whole fleet.
pub trait FleetLimit: Send + Sync + fmt::Debug {
    /// Takes one request and `units` units from the fleet's allowance:
    /// `Some(Ok(()))` when taken, `Some(Err(wait))` when refused for `wait`,
    /// `None` when the fleet cannot be asked now (the local limit decides).
    fn take(&self, units: u64) -> BoxFuture<'_, Option<Result<(), Duration>>>;

    /// Corrects an earlier estimate of `estimated` units to `actual`, in the
    /// background (a stream's end never waits on it).
    fn correct(&self, estimated: u64, actual: u64);
}
