//! [`Probe`]: the user's check of whether a target answers, and how probe
//! results move a [`HealthState`] through the thresholds of a [`ProbeConfig`].

use std::fmt::Display;
use std::future::Future;

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::clock::encode_duration;
use super::state::{bump, lock};
use super::{HealthState, ProbeConfig, Status};

/// A health check of one target. `Ok` means healthy; `Err` carries a short,
/// already sanitised reason (it is shown on dashboards).
///
/// Closures returning a future implement it:
///
/// ```
/// use steadfast::health::Probe;
///
/// fn assert_probe(_: impl Probe) {}
/// assert_probe(|| async { Ok::<(), String>(()) });
/// ```
pub trait Probe: Send + Sync + 'static {
    /// Checks the target once. The checker applies the timeout.
    fn probe(&self) -> BoxFuture<'static, Result<(), String>>;
}

impl<F, Fut, E> Probe for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Display,
{
    fn probe(&self) -> BoxFuture<'static, Result<(), String>> {
        let future = self();
        Box::pin(async move { future.await.map_err(|error| error.to_string()) })
    }
}

impl HealthState {
    /// Applies one probe result under the thresholds of `config`.
    pub(super) fn record_probe(
        &self,
        result: Result<(), String>,
        latency: Duration,
        config: &ProbeConfig,
    ) {
        let inner = &*self.inner;
        inner
            .last_probe_at
            .store(inner.clock.now(), Ordering::Relaxed);
        inner
            .last_latency
            .store(encode_duration(latency), Ordering::Relaxed);
        let (to, count) = match result {
            Ok(()) => {
                inner.probe_failures.store(0, Ordering::Relaxed);
                self.observe_latency(latency);
                (Status::Healthy, config.healthy_after)
            }
            Err(error) => {
                inner.probe_successes.store(0, Ordering::Relaxed);
                self.set_error(&error);
                (Status::Unhealthy, config.unhealthy_after)
            }
        };
        let counter = match to {
            Status::Healthy => &inner.probe_successes,
            _ => &inner.probe_failures,
        };
        let streak = bump(counter);
        if streak >= count && Status::from_u8(inner.probed.load(Ordering::Acquire)) != to {
            let _guard = lock(&inner.transition);
            inner.probed.store(to.to_u8(), Ordering::Release);
            self.refresh();
        } else {
            self.status();
        }
    }
}
