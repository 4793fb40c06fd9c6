//! The proxy core of the Steadfast gateway: everything between a parsed
//! client request and the answer it gets. [`Proxy::serve`] is the one entry
//! point: it runs the route's strategy over its targets (admission, attempts,
//! retries, failover), sends each target the request in its own format,
//! relays the answer back in the client's (whole or streamed, resumed on
//! another target if a stream breaks), and counts the request once, when its
//! answer has ended.
//!
//! | module | what |
//! |---|---|
//! | [`runtime`] | the live form of a config: routes, targets (breaker, limits, health), clients, a route's priority shedding |
//! | [`upstream`] | the pooled HTTP client for providers, their credentials, the judging of their answers |
//! | [`inbound`] | a client's request on its way out, in each target's format |
//! | [`engine`] | the attempt loop of a route on the library's fallback strategies |
//! | [`outcome`] | what became of a request and its attempts |
//! | [`fleet`] | the seam to state shared by a fleet of gateways |
//! | [`cache`] | a route's cache of answers, in memory or the fleet's store |
//! | [`telemetry`] | metric names and handles, trace spans |
//! | [`headers`] | the gateway's own header names |
//! | [`translating`] | the budget of request bytes being translated at once |
//!
//! Private parts: `admission` (the local checks of one attempt), `attempt`
//! (one call, plain or streamed), `relay` (one target's stream: framing,
//! translation, its admission settled), `session` (the client's stream over
//! it: record, deadline, resumption, the answer kept), `replayed` (answers
//! at hand: cached, stale, static), `reply` (what a served request gets
//! back), `resume` (continuing a broken stream elsewhere), `record` (the
//! one owner of a request's outcome), `serve` (the entry point).

mod admission;
mod attempt;
mod build_error;
pub mod cache;
pub mod engine;
pub mod error;
pub mod fleet;
pub mod headers;
pub mod inbound;
pub mod outcome;
mod record;
mod relay;
mod replayed;
mod reply;
mod resume;
pub mod runtime;
mod serve;
mod session;
pub mod telemetry;
pub mod translating;
pub mod upstream;

use std::sync::Arc;

use arc_swap::ArcSwap;
use steadfast::events::Events;
use steadfast_config::Config;

pub use build_error::BuildError;
pub use reply::{Answer, Reply, Source};
pub use serve::{Refused, Request};

use fleet::Fleet;
use runtime::{HealthProbes, Runtime};
use translating::TranslationBudget;
use upstream::Upstream;

/// The proxy: the live runtime (swapped whole on reconfiguration), the
/// client for providers, the health probes and the event bus every policy
/// publishes on.
#[derive(Debug)]
pub struct Proxy {
    runtime: ArcSwap<Runtime>,
    upstream: Upstream,
    events: Events,
    probes: HealthProbes,
    fleet: Option<Arc<dyn Fleet>>,
    translating: TranslationBudget,
}

impl Proxy {
    /// A proxy serving `config`, publishing on `events`, sharing limits and
    /// probes with `fleet` if there is one. Must run inside a tokio runtime
    /// (health probes start at once).
    pub fn new(
        config: Config,
        events: Events,
        fleet: Option<Arc<dyn Fleet>>,
    ) -> Result<Proxy, String> {
        let upstream = Upstream::new()?;
        let probes = HealthProbes::new(upstream.clone(), events.clone(), fleet.clone());
        let translating = TranslationBudget::new(config.server.max_translating_bytes);
        let runtime = Runtime::build(config, None, &events, &probes, fleet.as_deref())
            .map_err(|error| error.to_string())?;
        Ok(Proxy {
            runtime: ArcSwap::from_pointee(runtime),
            upstream,
            events,
            probes,
            fleet,
            translating,
        })
    }

    /// The live runtime.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    /// The event bus of every policy.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Serves `config` from now on: new requests get a runtime built for it
    /// (in-flight ones finish on the old one), which keeps the breaker,
    /// limits, health and latency of every model whose settings did not
    /// change.
    pub fn reconfigure(&self, config: Config) -> Result<(), BuildError> {
        let old = self.runtime();
        let runtime = Runtime::build(
            config,
            Some(&old),
            &self.events,
            &self.probes,
            self.fleet.as_deref(),
        )?;
        self.runtime.store(Arc::new(runtime));
        Ok(())
    }

    /// Probes target `name` now (after a manual reset), if it is probed.
    pub async fn probe_now(&self, name: &str) {
        self.probes.probe_now(name).await;
    }
}
