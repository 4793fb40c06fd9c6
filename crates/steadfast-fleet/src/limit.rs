//! Rate limits held for the whole fleet: one atomic Lua GCRA script in
//! Redis per check (`EVALSHA`: the script is loaded when the link connects),
//! the algorithm of `steadfast::rate_limit`. The proxy's
//! limiter keeps its local limit in step and falls back to it while Redis is
//! away ([`FleetLimit::take`] answers `None` then).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use steadfast::rate_limit::Quota;
use steadfast_proxy::fleet::FleetLimit;

use super::link::Link;
use super::scripts::GCRA;

/// A limit held in Redis for the whole fleet.
#[derive(Debug)]
pub(crate) struct SharedLimit {
    link: Arc<Link>,
    requests: Option<Bucket>,
    units: Option<Bucket>,
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

impl SharedLimit {
    /// The limit of `scope` (`model:gpt`, `client:team-a`) with these quotas.
    pub(crate) fn new(
        link: &Arc<Link>,
        scope: &str,
        requests: Option<Quota>,
        units: Option<Quota>,
    ) -> SharedLimit {
        SharedLimit {
            requests: requests.map(|quota| Bucket::new(link, scope, "requests", quota)),
            units: units.map(|quota| Bucket::new(link, scope, "units", quota)),
            link: Arc::clone(link),
        }
    }

    async fn take(&self, units: u64) -> Option<Result<(), Duration>> {
        let mut invocation = GCRA.prepare_invoke();
        invocation.arg("take");
        for (bucket, n) in self.buckets(units) {
            invocation
                .key(&bucket.key)
                .arg(bucket.cost(n))
                .arg(bucket.tolerance_micros);
        }
        let mut connection = self.link.connection()?;
        let verdict = self
            .link
            .run(
                "rate_limit",
                invocation.invoke_async::<u64>(&mut connection),
            )
            .await;
        verdict.map(|wait| match wait {
            0 => Ok(()),
            wait => Err(Duration::from_micros(wait)),
        })
    }

    fn buckets(&self, units: u64) -> impl Iterator<Item = (&Bucket, u64)> {
        let requests = self.requests.as_ref().map(|bucket| (bucket, 1));
        let units = self.units.as_ref().map(|bucket| (bucket, units));
        requests.into_iter().chain(units)
    }
}

impl FleetLimit for SharedLimit {
    fn take(&self, units: u64) -> BoxFuture<'_, Option<Result<(), Duration>>> {
        Box::pin(SharedLimit::take(self, units))
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
        // The script's digest, not its 1.3 KB text: it was loaded on connecting.
        let mut command = redis::cmd("EVALSHA");
        command
            .arg(GCRA.get_hash())
            .arg(1)
            .arg(&bucket.key)
            .arg(mode)
            .arg(bucket.cost(n))
            .arg(bucket.tolerance_micros);
        self.link.later("rate_limit_correct", command);
    }
}
