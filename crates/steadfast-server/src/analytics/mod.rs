//! The gateway's own analytics: a bounded day of per-minute history and the
//! incidents in it ([`ledger`]), fed every second and on every breaker or
//! health change by the [`sampler`](crate::sampler) task, and the reports
//! built from it for `GET /api/report?window=1h` ([`report`]).

pub mod ledger;
pub mod report;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use steadfast::breaker::State;
use steadfast::events::Event;
use steadfast::health::Status;

use self::ledger::{Cause, Ledger, MINUTE_MS, MINUTES, RouteSecond, TargetSecond};
pub use self::report::Report;
use steadfast_proxy::runtime::{DegradedCounts, Runtime, Target};

use crate::dashboard::Sample;

/// The longest window a report covers: the history kept.
pub const MAX_WINDOW: Duration = Duration::from_secs(MINUTES as u64 * MINUTE_MS / 1000);

/// The history and the route counters seen at the last sample.
#[derive(Debug)]
pub struct Analytics {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    ledger: Ledger,
    /// Each route's counters at the last sample: requests, errors,
    /// failovers and its [`DegradedCounts`] in array order.
    routes: HashMap<Arc<str>, [u64; 7]>,
}

impl Analytics {
    /// Empty analytics starting at `now_ms` (Unix ms).
    pub fn new(now_ms: u64) -> Analytics {
        Analytics {
            inner: Mutex::new(Inner {
                ledger: Ledger::new(now_ms),
                routes: HashMap::new(),
            }),
        }
    }

    /// Records the dashboard's `sample` of the last second (its targets'
    /// attempts and failures), each route's counters since the last call (a
    /// route rebuilt by a reload starts from zero), and which targets are
    /// out. A target found admitting again ends its incident even if the
    /// event saying so was missed.
    pub fn second(&self, runtime: &Runtime, sample: &Sample) {
        let out: HashSet<&str> = runtime
            .targets
            .iter()
            .filter(|(_, target)| is_out(target))
            .map(|(name, _)| &**name)
            .collect();
        let targets: Vec<(&Arc<str>, TargetSecond)> = runtime
            .targets
            .keys()
            .map(|name| {
                let counted = sample.targets.get(&**name);
                let second = TargetSecond {
                    attempts: counted.map_or(0, |s| s.attempts),
                    failures: counted.map_or(0, |s| s.failures),
                    out: out.contains(&**name),
                };
                (name, second)
            })
            .collect();
        let mut inner = self.lock();
        let Inner { ledger, routes } = &mut *inner;
        let mut seen = HashMap::with_capacity(runtime.routes.len());
        let route_seconds: Vec<(&Arc<str>, RouteSecond)> = runtime
            .routes
            .iter()
            .map(|(name, route)| {
                let (served, unserved) = route.signals().counts();
                let [cache_hits, stale, static_answers, shed] =
                    route.signals().degraded_counts().to_array();
                let now = [
                    served + unserved,
                    unserved,
                    route.signals().failovers(),
                    cache_hits,
                    stale,
                    static_answers,
                    shed,
                ];
                let [requests, errors, failovers, degraded @ ..] = delta(routes.get(name), now);
                let degraded = DegradedCounts::from_array(degraded);
                seen.insert(Arc::clone(name), now);
                let down = route
                    .targets()
                    .iter()
                    .filter(|t| out.contains(&**t.name()))
                    .count();
                let second = RouteSecond {
                    requests,
                    errors,
                    failovers,
                    degraded,
                    some_out: down > 0,
                    all_out: down > 0 && down == route.targets().len(),
                };
                (name, second)
            })
            .collect();
        for (name, second) in &targets {
            if !second.out && ledger.is_out(name) {
                ledger.back(name, sample.time);
            }
        }
        ledger.second(sample.time, route_seconds, targets);
        *routes = seen;
    }

    /// Records a breaker or health change of a target at `now_ms`: a trip
    /// (closed to open) or an ejection opens an incident; a target admitting
    /// again (breaker closed and healthy) ends it. Other events are ignored.
    pub fn event(&self, event: &Event, runtime: &Runtime, now_ms: u64) {
        let (name, taken_out) = match event {
            Event::BreakerStateChanged { name, from, to } => match (from, to) {
                (State::Closed, State::Open) => (name, Some(Cause::BreakerOpen)),
                (_, State::Closed | State::Disabled) => (name, None),
                _ => return,
            },
            Event::HealthChanged { name, to, .. } => match to {
                Status::Unhealthy => (name, Some(Cause::Unhealthy)),
                Status::Healthy => (name, None),
                Status::Unknown => return,
            },
            _ => return,
        };
        let Some(target) = runtime.targets.get(&**name) else {
            return;
        };
        let mut inner = self.lock();
        match taken_out {
            Some(cause) => {
                let since = target.signals().failing_since_ms();
                inner.ledger.taken_out(target.name(), cause, now_ms, since);
            }
            None if !is_out(target) => inner.ledger.back(target.name(), now_ms),
            None => {}
        }
    }

    /// The report over `window` up to `now_ms`.
    pub fn report(&self, window: Duration, now_ms: u64) -> Report {
        report::build(&self.lock().ledger, window.as_secs(), now_ms)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `target` turns requests away now: breaker open, unhealthy, or
/// cooling down after a `Retry-After`.
fn is_out(target: &Target) -> bool {
    !target.is_available() || target.cooling_down().is_some()
}

/// `now - before`, element-wise; from zero when a counter went backwards
/// (the route or target was rebuilt) or was not seen before.
pub fn delta<const N: usize>(before: Option<&[u64; N]>, now: [u64; N]) -> [u64; N] {
    let before = before
        .filter(|before| before.iter().zip(&now).all(|(b, n)| b <= n))
        .copied()
        .unwrap_or([0; N]);
    std::array::from_fn(|i| now[i] - before[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_restart_from_zero_when_counters_went_back() {
        assert_eq!(delta(Some(&[5, 1]), [8, 1]), [3, 0]);
        assert_eq!(delta(Some(&[5, 1]), [2, 0]), [2, 0]);
        assert_eq!(delta(None, [4, 2]), [4, 2]);
    }
}
