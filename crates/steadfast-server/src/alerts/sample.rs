//! A snapshot of what alert rules look at, read from the live runtime without
//! locks: per target its outcome counters, run of failures, breaker,
//! availability, credentials and latency; per route its request counters and
//! whether any target is available. Tests build snapshots by hand.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use steadfast::breaker::State;
use steadfast_proxy::runtime::Runtime;

/// What the rules see at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Targets by model name.
    pub targets: BTreeMap<Arc<str>, TargetSample>,
    /// Routes by name.
    pub routes: BTreeMap<Arc<str>, RouteSample>,
}

/// One target at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetSample {
    /// The target's provider, for messages.
    pub provider: Arc<str>,
    /// Attempts that succeeded, since the target was built.
    pub successes: u64,
    /// Attempts that failed in a way that counts against it, since it was built.
    pub faults: u64,
    /// The longest run of failures since the last sample.
    pub streak: u64,
    /// Its breaker is open, half-open or forced open, or opened since the last sample.
    pub breaker_open: bool,
    /// A request may be sent to it now.
    pub available: bool,
    /// Its provider last refused the gateway's credentials.
    pub misconfigured: bool,
    /// Latency percentiles asked for by rules: `(percentile, latency)`.
    pub latency: Vec<(f64, Option<Duration>)>,
}

/// One route at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteSample {
    /// Requests answered (or refused as the client's fault), since the route was built.
    pub served: u64,
    /// Requests no target answered, since the route was built.
    pub unserved: u64,
    /// Its targets, in order.
    pub targets: Vec<Arc<str>>,
    /// At least one of its targets is available.
    pub available: bool,
}

impl Snapshot {
    /// Reads `runtime`. `percentiles` are the latency percentiles rules need;
    /// `opened` names breakers that opened since the last sample (from events),
    /// so a breaker that opened and closed between two samples is still seen.
    pub fn take(runtime: &Runtime, percentiles: &[f64], opened: &HashSet<Arc<str>>) -> Snapshot {
        let targets = runtime
            .targets
            .iter()
            .map(|(name, target)| {
                let sample = TargetSample {
                    provider: target.provider().name.clone(),
                    successes: target.counts().successes,
                    faults: target.signals().faults(),
                    streak: target.signals().take_streak(),
                    breaker_open: opened.contains(name)
                        || matches!(
                            target.breaker().state(),
                            State::Open | State::HalfOpen | State::ForcedOpen
                        ),
                    available: target.is_available(),
                    misconfigured: target.is_misconfigured(),
                    latency: percentiles
                        .iter()
                        .map(|&p| (p, target.latency().percentile(p)))
                        .collect(),
                };
                (Arc::clone(name), sample)
            })
            .collect();
        let routes = runtime
            .routes
            .iter()
            .map(|(name, route)| {
                let (served, unserved) = route.signals().counts();
                let sample = RouteSample {
                    served,
                    unserved,
                    targets: route
                        .targets()
                        .iter()
                        .map(|t| Arc::clone(t.name()))
                        .collect(),
                    available: route.targets().iter().any(|t| t.is_available()),
                };
                (Arc::clone(name), sample)
            })
            .collect();
        Snapshot { targets, routes }
    }
}
