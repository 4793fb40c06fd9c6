//! Health probes that are not multiplied by the fleet's size: before probing
//! a model, an instance takes the model's lease (`SET … NX PX`, a little
//! shorter than the interval); the holder probes and stores the result, the
//! others read it. Without Redis every instance probes for itself.

use super::scripts::LEASE;
use std::time::Duration;

use steadfast_proxy::fleet::{Probe, ProbeResult};
use tokio::time::Instant;

use super::link::Link;

/// How often a follower looks for the first result of a lease holder.
const POLL: Duration = Duration::from_millis(20);

/// Runs `probe` if this instance takes the lease of `model` for this
/// `interval`, else returns the fleet's latest result (waiting up to `wait`
/// for a first one). Falls back to probing when Redis is away.
pub(crate) async fn probe(
    link: &Link,
    model: &str,
    interval: Duration,
    wait: Duration,
    probe: Probe,
) -> ProbeResult {
    let lease = link.key(&["probe", &format!("{{{model}}}"), "lease"]);
    let result = link.key(&["probe", &format!("{{{model}}}"), "result"]);
    let Some(mut connection) = link.connection() else {
        return probe().await;
    };
    let taken = link
        .run(
            "probe_lease",
            redis::cmd("SET")
                .arg(&lease)
                .arg(link.instance())
                .arg("NX")
                .arg("PX")
                .arg(millis(lease_ttl(interval)))
                .query_async::<Option<String>>(&mut connection),
        )
        .await;
    match taken {
        Some(Some(_)) => {
            let outcome = probe().await;
            let stored = match &outcome {
                Ok(()) => "ok".to_owned(),
                Err(reason) => format!("error:{reason}"),
            };
            let _ = link
                .run(
                    "probe_result",
                    redis::cmd("SET")
                        .arg(&result)
                        .arg(stored)
                        .arg("PX")
                        .arg(millis(interval.saturating_mul(3)))
                        .query_async::<()>(&mut connection),
                )
                .await;
            outcome
        }
        Some(None) => {
            let deadline = Instant::now() + wait;
            loop {
                let read = link
                    .run(
                        "probe_read",
                        redis::cmd("GET")
                            .arg(&result)
                            .query_async::<Option<String>>(&mut connection),
                    )
                    .await;
                match read {
                    Some(Some(stored)) => return decode(&stored),
                    Some(None) if Instant::now() + POLL < deadline => {
                        tokio::time::sleep(POLL).await;
                    }
                    _ => return probe().await,
                }
            }
        }
        None => probe().await,
    }
}

/// Whether this instance holds the lease `name` for `ttl`; `true` when
/// Redis cannot be asked (the instance does the job itself).
pub(crate) async fn lease(link: &Link, name: &str, ttl: Duration) -> bool {
    let key = link.key(&["lease", &format!("{{{name}}}")]);
    let Some(mut connection) = link.connection() else {
        return true;
    };
    let mut invocation = LEASE.prepare_invoke();
    invocation.key(&key).arg(link.instance()).arg(millis(ttl));
    let held = link
        .run("lease", invocation.invoke_async::<u64>(&mut connection))
        .await;
    held.is_none_or(|held| held == 1)
}

/// The lease lasts a little less than the interval, so the holder's next
/// probe finds it expired and the fleet probes once per interval.
fn lease_ttl(interval: Duration) -> Duration {
    interval
        .saturating_sub((interval / 10).min(Duration::from_secs(1)))
        .max(Duration::from_millis(1))
}

fn decode(stored: &str) -> Result<(), String> {
    match stored.strip_prefix("error:") {
        Some(reason) => Err(reason.to_owned()),
        None => Ok(()),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_is_shorter_than_the_interval() {
        assert_eq!(lease_ttl(Duration::from_secs(30)), Duration::from_secs(29));
        assert_eq!(
            lease_ttl(Duration::from_secs(1)),
            Duration::from_millis(900)
        );
        assert_eq!(decode("ok"), Ok(()));
        assert_eq!(decode("error:HTTP 503"), Err("HTTP 503".into()));
    }
}
