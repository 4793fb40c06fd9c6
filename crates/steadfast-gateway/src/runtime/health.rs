//! Active health probes of targets: a cheap `GET {base_url}/models` (for
//! Anthropic, `GET {base_url}/v1/models`) on each
//! model's `health_check.interval`, feeding the health state the router reads.
//! Live traffic is judged by each target's circuit breaker (the passive side).
//! With a shared state, one instance of the fleet probes a model per interval
//! and the others read its result (see [`crate::shared::probe`]).

use std::sync::Arc;

use steadfast::events::Events;
use steadfast::health::{HealthChecker, HealthState, OutlierConfig, ProbeConfig};

use crate::config::ModelConfig;
use crate::shared::{self, SharedState};
use crate::upstream::{Provider, Upstream};

/// Owns the probe tasks of every target.
#[derive(Debug)]
pub struct HealthProbes {
    checker: HealthChecker,
    upstream: Upstream,
    events: Events,
    shared: SharedState,
}

impl HealthProbes {
    /// Probes that publish health changes on `events`, shared with the
    /// fleet through `shared`.
    pub fn new(upstream: Upstream, events: Events, shared: SharedState) -> HealthProbes {
        HealthProbes {
            checker: HealthChecker::new(events.clone()).with_outlier(OutlierConfig::disabled()),
            upstream,
            events,
            shared,
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
        let link = self.shared.link().cloned();
        let model: Arc<str> = name.into();
        let (interval, wait) = (check.interval.0, check.timeout.0 / 2);
        self.checker.register(name, config, move || {
            let upstream = upstream.clone();
            let provider = Arc::clone(&provider);
            let link = link.clone();
            let model = Arc::clone(&model);
            async move {
                let probe = || list_models(&upstream, &provider);
                match &link {
                    Some(link) => shared::probe(link, &model, interval, wait, probe).await,
                    None => probe().await,
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
    let response = upstream
        .get(provider, crate::wire::format::models_path(provider.kind))
        .await
        .map_err(|error| error.message)?;
    let status = response.status();
    crate::upstream::drain(response, MAX_DRAINED_BYTES).await;
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
