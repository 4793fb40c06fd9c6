//! Priority shedding (`routes.<name>.shedding`): a route takes at most its
//! capacity in flight — its targets' `max_concurrency` summed, or as
//! configured — scaled by the share of its targets that can take requests
//! now (breaker not open, healthy, not cooling down after a `Retry-After`,
//! not at their rate limit). Each priority may fill only its share of that
//! (by default low 50%, normal 70%, high 90%, critical all), so when
//! capacity shrinks the lowest priorities are refused first and the highest
//! keep theirs. With every target out nothing is shed: the route answers as
//! it does then (fast 503, a stale or static answer).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use metrics::{Counter, counter};
use steadfast_config::{Priority, PriorityShares, SheddingConfig};

use super::target::Target;
use crate::telemetry::SHED;

/// A route's shedding.
#[derive(Debug)]
pub struct Shedder {
    capacity: usize,
    shares: PriorityShares,
    retry_after: Duration,
    in_flight: Arc<AtomicUsize>,
    shed: [Counter; Priority::ALL.len()],
}

/// A request's place in its route's capacity, held until its answer ends.
#[derive(Debug)]
pub struct ShedPermit(Arc<AtomicUsize>);

impl Drop for ShedPermit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request refused to keep capacity for higher priorities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shed {
    /// Its priority.
    pub priority: Priority,
    /// Requests of that priority the route takes now.
    pub allowed: usize,
    /// When to try again.
    pub retry_after: Duration,
}

impl Shedder {
    /// The shedding of `route` over `targets`, counting in flight in
    /// `in_flight` (a reloaded route keeps its predecessor's count).
    pub fn new(
        route: &str,
        settings: &SheddingConfig,
        targets: &[Arc<Target>],
        in_flight: Option<Arc<AtomicUsize>>,
    ) -> Shedder {
        let capacity = settings.capacity.unwrap_or_else(|| {
            targets
                .iter()
                .map(|t| t.settings.max_concurrency.unwrap_or(1))
                .fold(0, usize::saturating_add)
        });
        Shedder {
            capacity,
            shares: settings.shares.clone(),
            retry_after: settings.retry_after.0,
            in_flight: in_flight.unwrap_or_default(),
            shed: Priority::ALL.map(|priority| {
                counter!(SHED, "route" => route.to_owned(), "priority" => priority.as_str())
            }),
        }
    }

    /// The requests in flight, shared with a reloaded route.
    pub fn in_flight(&self) -> &Arc<AtomicUsize> {
        &self.in_flight
    }

    /// The route's capacity now: its whole capacity scaled by the weight
    /// (`max_concurrency`, else 1) of the targets that can take requests.
    pub fn capacity_now(&self, targets: &[Arc<Target>]) -> usize {
        let weight = |t: &Arc<Target>| t.settings.max_concurrency.unwrap_or(1) as f64;
        let whole: f64 = targets.iter().map(weight).sum();
        let up: f64 = targets
            .iter()
            .filter(|t| t.has_capacity())
            .map(weight)
            .sum();
        if whole <= 0.0 {
            return 0;
        }
        (self.capacity as f64 * up / whole).round() as usize
    }

    /// A place for a request of `priority`, or why not.
    pub fn admit(&self, priority: Priority, targets: &[Arc<Target>]) -> Result<ShedPermit, Shed> {
        let capacity = self.capacity_now(targets);
        // With no target up there is nothing to keep: the route answers as
        // it does with every target out.
        let allowed = if capacity == 0 {
            usize::MAX
        } else {
            ((capacity as f64 * self.shares.of(priority)).floor() as usize).max(1)
        };
        let admitted = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < allowed).then_some(n + 1)
            })
            .is_ok();
        if admitted {
            return Ok(ShedPermit(Arc::clone(&self.in_flight)));
        }
        self.shed[priority as usize].increment(1);
        Err(Shed {
            priority,
            allowed,
            retry_after: self.retry_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use steadfast::events::Events;
    use steadfast::health::{HealthState, OutlierConfig};

    use super::*;
    use crate::upstream::Provider;

    fn target(name: &str, max_concurrency: usize) -> Arc<Target> {
        let provider = serde_json::from_value(
            serde_json::json!({"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}),
        )
        .unwrap();
        let model = serde_json::from_value(serde_json::json!({
            "provider": "p", "model": name, "max_concurrency": max_concurrency
        }))
        .unwrap();
        let health = HealthState::new(name, Events::none(), OutlierConfig::disabled());
        let provider = Arc::new(Provider::from_config("p", &provider).unwrap());
        Arc::new(Target::new(
            name,
            &model,
            provider,
            health,
            &Events::none(),
            None,
        ))
    }

    fn shedder(targets: &[Arc<Target>]) -> Shedder {
        let settings: SheddingConfig = serde_json::from_value(serde_json::json!({})).unwrap();
        Shedder::new("chat", &settings, targets, None)
    }

    #[test]
    fn with_half_the_capacity_gone_the_lowest_priorities_are_refused_first() {
        let targets = [target("a", 10), target("b", 10)];
        let shedder = shedder(&targets);
        assert_eq!(shedder.capacity_now(&targets), 20);
        targets[1].breaker.force_open();
        assert_eq!(shedder.capacity_now(&targets), 10);
        let mut held = Vec::new();
        // Low may fill half of what is left.
        while let Ok(permit) = shedder.admit(Priority::Low, &targets) {
            held.push(permit);
        }
        assert_eq!(held.len(), 5);
        let refused = shedder.admit(Priority::Low, &targets).unwrap_err();
        assert_eq!(
            (refused.allowed, refused.retry_after),
            (5, Duration::from_secs(1))
        );
        // Normal up to 70%, high up to 90%, critical all of it.
        for (priority, up_to) in [
            (Priority::Normal, 7),
            (Priority::High, 9),
            (Priority::Critical, 10),
        ] {
            while shedder.in_flight().load(Ordering::Acquire) < up_to {
                held.push(shedder.admit(priority, &targets).unwrap());
            }
            assert!(shedder.admit(priority, &targets).is_err(), "{priority:?}");
        }
        held.truncate(4);
        assert!(
            shedder.admit(Priority::Low, &targets).is_ok(),
            "places are given back"
        );
    }

    #[test]
    fn nothing_is_shed_when_every_target_is_out() {
        let targets = [target("a", 1)];
        targets[0].breaker.force_open();
        let shedder = shedder(&targets);
        let held: Vec<_> = (0..5)
            .map(|_| shedder.admit(Priority::Low, &targets).unwrap())
            .collect();
        assert_eq!(held.len(), 5);
    }
}
