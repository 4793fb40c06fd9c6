//! The live form of a config: providers, targets and routes, rebuilt on every
//! reload while keeping the state of every model whose settings did not change.

mod clients;
mod headroom;
mod health;
mod limit;
mod recovery;
mod route;
pub mod shed;
mod signals;
mod target;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use steadfast::events::Events;

pub use clients::{Client, ClientPass, ClientRefusal, Clients};
pub use health::HealthProbes;
pub use limit::Limiter;
pub use recovery::Recovery;
pub use route::{Route, RouteStrategy};
pub use signals::{DegradedCounts, RouteSignals, TargetSignals};
pub use target::{Target, TargetCounts};

use steadfast_config::Config;

use crate::build_error::BuildError;
use crate::fleet::Fleet;
use crate::upstream::{Provider, Redaction};

/// Everything a request needs, swapped as a whole on reload.
#[derive(Debug)]
pub struct Runtime {
    /// The config this was built from.
    pub config: Arc<Config>,
    /// Routes by name.
    pub routes: HashMap<Arc<str>, Arc<Route>>,
    /// Targets by model name, sorted for status pages.
    pub targets: BTreeMap<Arc<str>, Arc<Target>>,
    /// Client keys and their limits.
    pub clients: Clients,
}

impl Runtime {
    /// Builds the runtime for `config`, taking over from `previous` every target
    /// whose model and provider settings are unchanged, so their breaker,
    /// limits and latency history live on.
    pub fn build(
        config: Config,
        previous: Option<&Runtime>,
        events: &Events,
        probes: &HealthProbes,
        fleet: Option<&dyn Fleet>,
    ) -> Result<Runtime, BuildError> {
        let redaction = Redaction::of(&config);
        let mut providers = HashMap::new();
        for (name, settings) in &config.providers {
            let provider = Provider::from_config(name, settings)?.with_redaction(redaction.clone());
            providers.insert(name.as_str(), Arc::new(provider));
        }
        let mut targets = BTreeMap::new();
        for (name, settings) in &config.models {
            let provider = providers.get(settings.provider.as_str()).ok_or_else(|| {
                BuildError::new(
                    format!("models.{name}.provider"),
                    format!("unknown provider {:?}", settings.provider),
                )
            })?;
            let kept = previous
                .and_then(|runtime| runtime.targets.get(name.as_str()))
                .filter(|old| old.settings == *settings && *old.provider == **provider);
            let target = match kept {
                Some(old) => Arc::clone(old),
                None => {
                    let health = probes.watch(name, settings, provider);
                    let target = Arc::new(Target::new(
                        name,
                        settings,
                        Arc::clone(provider),
                        health,
                        events,
                        fleet,
                    ));
                    probes.recover(&target);
                    target
                }
            };
            targets.insert(Arc::clone(&target.name), target);
        }
        let mut routes = HashMap::new();
        for (name, settings) in &config.routes {
            let route_targets = settings
                .targets
                .iter()
                .map(|model| {
                    targets.get(model.as_str()).cloned().ok_or_else(|| {
                        BuildError::new(
                            format!("routes.{name}.targets"),
                            format!("unknown model {model:?}"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let previous_route = previous.and_then(|runtime| runtime.routes.get(name.as_str()));
            let route = Arc::new(Route::new(
                name,
                settings,
                route_targets,
                events,
                previous_route.map(|route| &**route),
                fleet,
            ));
            routes.insert(Arc::clone(&route.name), route);
        }
        if let Some(previous) = previous {
            for name in previous.targets.keys() {
                if !targets.contains_key(name) {
                    probes.forget(name);
                }
            }
        }
        let clients = Clients::build(&config.clients, previous.map(|old| &old.clients), fleet);
        Ok(Runtime {
            config: Arc::new(config),
            routes,
            targets,
            clients,
        })
    }
}
