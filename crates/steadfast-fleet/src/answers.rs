//! The fleet's store of cached answers: each one a string key
//! `{prefix}:answers:{route}:{digest}` with the answer as its value and the
//! route's time to live as its expiry (`SET … PX`), so Redis drops it by
//! itself; each value is bounded by the route's `max_entry_bytes` before it
//! is sent. A read is one round trip within the state's timeout; while
//! Redis is down or slow the cache is off (a lookup finds nothing, a write
//! is dropped), never the route. A write Redis refuses (out of memory under
//! `noeviction`) is only counted: it does not take the link down.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use steadfast_proxy::fleet::FleetAnswers;

use crate::link::Link;

/// Answers kept in Redis for the whole fleet.
#[derive(Debug)]
pub(crate) struct SharedAnswers(pub(crate) Arc<Link>);

impl FleetAnswers for SharedAnswers {
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Option<Bytes>, ()>> {
        let key = self.0.key(&["answers", key]);
        Box::pin(async move {
            let mut connection = self.0.connection().ok_or(())?;
            let mut get = redis::cmd("GET");
            get.arg(&key);
            let command = get.query_async::<Option<Vec<u8>>>(&mut connection);
            match self.0.run("cache_get", command).await {
                Some(value) => Ok(value.map(Bytes::from)),
                None => Err(()),
            }
        })
    }

    fn put(&self, key: &str, value: Bytes, ttl: Duration) {
        let key = self.0.key(&["answers", key]);
        let mut command = redis::cmd("SET");
        command
            .arg(key)
            .arg(value.as_ref())
            .arg("PX")
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1));
        // A cached answer may be lost: Redis refusing it (full, say) must
        // not take the fleet's breakers and limits off Redis.
        self.0.write_soft("cache_put", command);
    }
}
