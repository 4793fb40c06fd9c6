//! Active health probes of targets: a call that costs no tokens
//! ([`Provider::probe`]: the model list, or a token count) on each model's
//! `health_check.interval`, feeding the health state the router reads.
//! Live traffic is judged by each target's circuit breaker (the passive side).
//! With a fleet, one gateway probes a model per interval and the others read
//! its result (see [`Fleet::probe`]). The [`Recovery`] probes of open
//! breakers are owned here too.

use std::sync::Arc;

use bytes::Bytes;

use steadfast::events::Events;
use steadfast::health::{HealthChecker, HealthState, OutlierConfig, ProbeConfig};
use steadfast_config::ModelConfig;

use super::{Recovery, Target};
use crate::fleet::Fleet;
use crate::upstream::{self, Probe, Provider, Upstream};

/// Owns the probe tasks of every target.
#[derive(Debug)]
pub struct HealthProbes {
    checker: HealthChecker,
    recovery: Recovery,
    upstream: Upstream,
    events: Events,
    fleet: Option<Arc<dyn Fleet>>,
}

impl HealthProbes {
    /// Probes that publish health changes on `events`, shared with the
    /// `fleet` if there is one.
    pub fn new(upstream: Upstream, events: Events, fleet: Option<Arc<dyn Fleet>>) -> HealthProbes {
        HealthProbes {
            checker: HealthChecker::new(events.clone()).with_outlier(OutlierConfig::disabled()),
            recovery: Recovery::start(upstream.clone(), fleet.clone()),
            upstream,
            events,
            fleet,
        }
    }

    /// The health state of a (new) target: probed if the model has a
    /// `health_check`, else fed by nothing but manual marks.
    pub fn watch(
        &self,
        name: &str,
        settings: &ModelConfig,
        provider: &Arc<Provider>,
    ) -> HealthState {
        let Some(check) = &settings.health_check else {
            self.checker.deregister(name);
            return HealthState::new(name, self.events.clone(), OutlierConfig::disabled());
        };
        let config = ProbeConfig::default()
            .interval(check.interval.0)
            .timeout(check.timeout.0)
            .unhealthy_after(check.retries);
        let upstream = self.upstream.clone();
        let provider = Arc::clone(provider);
        let fleet = self.fleet.clone();
        let model: Arc<str> = name.into();
        let upstream_model: Arc<str> = settings.model.as_str().into();
        let (interval, wait) = (check.interval.0, check.timeout.0 / 2);
        self.checker.register(name, config, move || {
            let upstream = upstream.clone();
            let provider = Arc::clone(&provider);
            let fleet = fleet.clone();
            let model = Arc::clone(&model);
            let upstream_model = Arc::clone(&upstream_model);
            async move {
                match &fleet {
                    Some(fleet) => {
                        let call = Box::new(move || {
                            Box::pin(
                                async move { probe(&upstream, &provider, &upstream_model).await },
                            ) as _
                        });
                        fleet.probe(&model, interval, wait, call).await
                    }
                    None => probe(&upstream, &provider, &upstream_model).await,
                }
            }
        })
    }

    /// Probes a (new) target's breaker at the end of its open times.
    pub fn recover(&self, target: &Arc<Target>) {
        self.recovery.watch(target);
    }

    /// Stops probing a target that left the config.
    pub fn forget(&self, name: &str) {
        self.checker.deregister(name);
        self.recovery.forget(name);
    }

    /// Probes a target now (after a manual reset); `None` if it is not probed.
    pub async fn probe_now(&self, name: &str) {
        let _ = self.checker.probe_now(name).await;
    }
}

/// The most of a probe's answer read to keep its connection for the next
/// probe; a longer list is dropped with its connection.
const MAX_DRAINED_BYTES: usize = 1024 * 1024;

/// One probe: the provider's probe call must answer 2xx. The answer is read
/// (and discarded) so the connection goes back to the pool: without that,
/// every probe of an HTTPS provider paid a new TCP and TLS handshake.
async fn probe(upstream: &Upstream, provider: &Provider, model: &str) -> Result<(), String> {
    // The config refuses `health_check` for providers without a probe.
    let response = match provider.probe() {
        Some(Probe::ListModels(path)) => upstream.get(provider, path).await,
        Some(Probe::CountTokens { path, body }) => {
            let body = Bytes::from_static(body.as_bytes());
            upstream
                .post(provider, model, path, body, "health-probe")
                .await
        }
        None => return Err(format!("{} has no call to probe", provider.name)),
    }
    .map_err(|error| error.message)?;
    let status = response.status();
    upstream::drain(response, MAX_DRAINED_BYTES).await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{} answered HTTP {}",
            provider.name,
            status.as_u16()
        ))
    }
}
