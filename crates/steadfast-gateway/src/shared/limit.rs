//! The rate-limit seam: admission asks a [`Limiter`] and does not care whether
//! the limit is this gateway's own ([`Limiter::Local`]) or the fleet's
//! ([`Limiter::Shared`]: one atomic Lua GCRA script in Redis, the algorithm of
//! `steadfast::rate_limit`, with the local limiter kept in step as the
//! fallback while Redis is away).

use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use steadfast::events::{Event, Events, Rejection};
use steadfast::rate_limit::{Quota, RateLimit, RateLimitExceeded};

use super::SharedState;
use super::link::Link;

/// The GCRA script, shared by every limiter of the process.
pub(super) const GCRA: &str = include_str!("gcra.lua");

/// A request and/or unit (token) limit, local or fleet-wide.
#[derive(Debug)]
pub enum Limiter {
    /// This gateway's own limit.
    Local(RateLimit),
    /// The fleet's limit in Redis, falling back to the local one.
    Shared(SharedLimit),
}

/// A limit held in Redis for the whole fleet.
#[derive(Debug)]
pub struct SharedLimit {
    local: RateLimit,
    link: Arc<Link>,
    script: Script,
    requests: Option<Bucket>,
    units: Option<Bucket>,
    events: Events,
}

/// One quota's GCRA state in Redis.
#[derive(Debug)]
struct Bucket {
    key: String,
    unit_micros: u64,
    tolerance_micros: u64,
}

impl Bucket {
    fn new(link: &Link, scope: &str, kind: &str, quota: Quota) -> Bucket {
        let interval = quota.interval.as_micros();
        let unit = interval.div_ceil(u128::from(quota.amount.max(1))).max(1);
        let unit_micros = u64::try_from(unit).unwrap_or(u64::MAX);
        Bucket {
            // The hash tag keeps one limiter's keys in one slot of a cluster.
            key: link.key(&["rate", &format!("{{{scope}}}"), kind]),
            unit_micros,
            tolerance_micros: quota.burst.max(1).saturating_mul(unit_micros),
        }
    }

    fn cost(&self, n: u64) -> u64 {
        n.saturating_mul(self.unit_micros)
    }
}

impl Limiter {
    /// The limiter of `scope` (`model:gpt`, `client:team-a`), named `name` in
    /// errors and events; fleet-wide when `shared` is Redis.
    pub fn new(
        name: &Arc<str>,
        scope: &str,
        requests: Option<Quota>,
        units: Option<Quota>,
        events: &Events,
        shared: &SharedState,
    ) -> Limiter {
        let mut builder = RateLimit::builder()
            .name(Arc::clone(name))
            .events(events.clone());
        if let Some(quota) = requests {
            builder = builder.requests(quota);
        }
        if let Some(quota) = units {
            builder = builder.units(quota);
        }
        let local = builder.build();
        match shared.link() {
            None => Limiter::Local(local),
            Some(link) => Limiter::Shared(SharedLimit {
                local,
                script: Script::new(GCRA),
                requests: requests.map(|quota| Bucket::new(link, scope, "requests", quota)),
                units: units.map(|quota| Bucket::new(link, scope, "units", quota)),
                link: Arc::clone(link),
                events: events.clone(),
            }),
        }
    }

    /// The local limiter (the whole limit when local, the fallback when shared).
    pub fn local(&self) -> &RateLimit {
        match self {
            Limiter::Local(local) => local,
            Limiter::Shared(shared) => &shared.local,
        }
    }

    /// Takes one request and `units` units if the limit allows it now, or
    /// nothing. Shared: one Redis round trip, or the local limiter when Redis
    /// is away.
    pub async fn check(&self, units: u64) -> Result<(), RateLimitExceeded> {
        match self {
            Limiter::Local(local) => local.check(units),
            Limiter::Shared(shared) => shared.check(units).await,
        }
    }

    /// Corrects the unit estimate once the real usage is known (in Redis in
    /// the background, so a stream's end never waits on it).
    pub fn correct(&self, estimated: u64, actual: u64) {
        self.local().correct(estimated, actual);
        if let Limiter::Shared(shared) = self {
            shared.correct(estimated, actual);
        }
    }
}

impl SharedLimit {
    async fn check(&self, units: u64) -> Result<(), RateLimitExceeded> {
        let mut invocation = self.script.prepare_invoke();
        invocation.arg("take");
        for (bucket, n) in self.buckets(units) {
            invocation
                .key(&bucket.key)
                .arg(bucket.cost(n))
                .arg(bucket.tolerance_micros);
        }
        let mut connection = self.link.connection();
        let verdict = self
            .link
            .run(
                "rate_limit",
                invocation.invoke_async::<u64>(&mut connection),
            )
            .await;
        match verdict {
            Some(0) => {
                // Keep the fallback in step with what this gateway sent.
                if let Some(requests) = self.local.requests() {
                    requests.charge(1);
                }
                if let Some(limiter) = self.local.units() {
                    limiter.charge(units);
                }
                Ok(())
            }
            Some(wait) => {
                let name = Arc::clone(self.local.name());
                self.events.emit(Event::Rejected {
                    name: Arc::clone(&name),
                    by: Rejection::RateLimited,
                });
                Err(RateLimitExceeded {
                    name,
                    retry_after: Duration::from_micros(wait),
                })
            }
            None => self.local.check(units),
        }
    }

    fn correct(&self, estimated: u64, actual: u64) {
        let Some(bucket) = &self.units else {
            return;
        };
        if actual == estimated || !self.link.is_up() {
            return;
        }
        let (mode, n) = if actual > estimated {
            ("charge", actual - estimated)
        } else {
            ("refund", estimated - actual)
        };
        let mut command = redis::cmd("EVAL");
        command
            .arg(GCRA)
            .arg(1)
            .arg(&bucket.key)
            .arg(mode)
            .arg(bucket.cost(n))
            .arg(bucket.tolerance_micros);
        self.link.later("rate_limit_correct", command);
    }

    fn buckets(&self, units: u64) -> impl Iterator<Item = (&Bucket, u64)> {
        let requests = self.requests.as_ref().map(|bucket| (bucket, 1));
        let units = self.units.as_ref().map(|bucket| (bucket, units));
        requests.into_iter().chain(units)
    }
}
