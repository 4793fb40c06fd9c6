//! Active health probes of targets: a cheap `GET {base_url}/models` (for
//! Anthropic, `GET {base_url}/v1/models`) on each
//! model's `health_check.interval`, feeding the health state the router reads.
//! Live traffic is judged by each target's circuit breaker (the passive side).
//! With a fleet, one gateway probes a model per interval and the others read
//! its result (see [`Fleet::probe`]).

use std::sync::Arc;

use steadfast::events::Events;
use steadfast::health::{HealthChecker, HealthState, OutlierConfig, ProbeConfig};
use steadfast_config::ModelConfig;

use crate::fleet::Fleet;
use crate::upstream::{self, Provider, Upstream};

/// Owns the probe tasks of every target.
#[derive(Debug)]
pub struct HealthProbes {
    checker: HealthChecker,
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
        let (interval, wait) = (check.interval.0, check.timeout.0 / 2);
        self.checker.register(name, config, move || {
            let upstream = upstream.clone();
            let provider = Arc::clone(&provider);
            let fleet = fleet.clone();
            let model = Arc::clone(&model);
            async move {
                match &fleet {
                    Some(fleet) => {
                        let probe = Box::new(move || {
                            Box::pin(async move { list_models(&upstream, &provider).await }) as _
                        });
                        fleet.probe(&model, interval, wait, probe).await
                    }
                    None => list_models(&upstream, &provider).await,
                }
            }
        })
    }

    /// Stops probing a target that left the config.
    pub fn forget(&self, name: &str) {
        self.checker.deregister(name);
    }

    /// Probes a target now (after a manual reset); `None` if it is not probed.
    pub async fn probe_now(&self, name: &str) {
        let _ = self.checker.probe_now(name).await;
    }
}

/// The most of a probe's answer read to keep its connection for the next
/// probe; a longer list is dropped with its connection.
const MAX_DRAINED_BYTES: usize = 1024 * 1024;

/// One probe: `GET {base_url}/models` must answer 2xx. The answer is read
/// (and discarded) so the connection goes back to the pool: without that,
/// every probe of an HTTPS provider paid a new TCP and TLS handshake.
async fn list_models(upstream: &Upstream, provider: &Provider) -> Result<(), String> {
    // The config refuses `health_check` for kinds without a model list.
    let Some(path) = steadfast_wire::format::models_path(provider.format) else {
        return Err(format!("{} has no call to probe", provider.name));
    };
    let response = upstream
        .get(provider, path)
        .await
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
