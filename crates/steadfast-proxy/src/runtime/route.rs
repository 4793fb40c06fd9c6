//! A route: what clients name in `model`, its targets, the strategy that
//! picks among them, and its retry policy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use steadfast::budget::Budget;
use steadfast::events::Events;
use steadfast::fallback::{
    FailoverOn, Hedged, LeastLoaded, Parallel, Quorum, Sequential, Strategy as Pick, TargetWeights,
    Weighted,
};
use steadfast::hedge::HedgeDelay;
use steadfast::retry::{Backoff, BackoffKind, Jitter, RetryPolicy};
use steadfast_config::{HedgeAfter, JitterConfig, RetryConfig, RouteConfig, Strategy};

use super::shed::Shedder;
use super::signals::RouteSignals;
use super::target::Target;
use crate::cache::AnswerCache;
use crate::fleet::Fleet;
use crate::telemetry::RouteMetrics;

/// The floor of the retry budget: retries always allowed per second, so a
/// quiet route can still retry.
const BUDGET_MIN_PER_SEC: f64 = 1.0;
/// The window the retry and hedge budgets are computed over.
const BUDGET_WINDOW: Duration = Duration::from_secs(10);
/// The hedge delay of a percentile `hedge_after` until enough latencies are known.
const HEDGE_FALLBACK: Duration = Duration::from_secs(1);

/// How a route runs its attempts.
#[derive(Debug)]
pub enum RouteStrategy {
    /// One answer, from the targets in the strategy's order.
    Single(Pick),
    /// `k` answers from different targets.
    Quorum(Quorum),
}

/// One route and its live state (budgets, adaptive weights).
#[derive(Debug)]
pub struct Route {
    /// The route's name (what clients put in `model`).
    pub(crate) name: Arc<str>,
    /// The route's settings, as configured.
    pub(crate) settings: RouteConfig,
    /// Its targets, in configured order.
    pub(crate) targets: Vec<Arc<Target>>,
    /// The strategy.
    pub(crate) strategy: RouteStrategy,
    /// Adaptive weights, for a weighted route.
    pub(crate) weights: Option<Arc<TargetWeights>>,
    /// Its retry passes over the strategy (backoff, budget, attempts per
    /// target, same-target retries).
    pub(crate) retry: RetryPolicy,
    /// Served and unserved requests, sampled by alert rules.
    pub(crate) signals: RouteSignals,
    /// Which targets were available at the last look (to notice recoveries).
    was_available: Vec<AtomicBool>,
    /// Its metric series.
    pub(crate) metrics: RouteMetrics,
    /// Its answer cache, if it has one.
    pub(crate) cache: Option<Arc<AnswerCache>>,
    /// Its priority shedding, if it sheds.
    pub(crate) shedder: Option<Shedder>,
}

impl Route {
    /// The route's name (what clients send as `model`).
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The route's settings, as configured.
    pub fn settings(&self) -> &RouteConfig {
        &self.settings
    }

    /// Its targets, in the configured order.
    pub fn targets(&self) -> &[Arc<Target>] {
        &self.targets
    }

    /// Outcome signals sampled by alert rules.
    pub fn signals(&self) -> &RouteSignals {
        &self.signals
    }

    /// Its answer cache, if configured.
    pub fn cache(&self) -> Option<&Arc<AnswerCache>> {
        self.cache.as_ref()
    }

    /// Its priority admission, if configured.
    pub fn shedder(&self) -> Option<&Shedder> {
        self.shedder.as_ref()
    }

    /// Builds a route over already-built targets; `settings` were validated.
    /// The cache of `previous` (the route of the same name before a reload)
    /// lives on if its settings did not change, and so does its count of
    /// requests in flight.
    pub fn new(
        name: &str,
        settings: &RouteConfig,
        targets: Vec<Arc<Target>>,
        events: &Events,
        previous: Option<&Route>,
        fleet: Option<&dyn Fleet>,
    ) -> Route {
        // Kept answers live on while the route answers from the same models.
        let cache = settings.cache.as_ref().map(|wanted| {
            let answered_by = answered_by(&targets);
            previous
                .and_then(|old| old.cache.as_ref())
                .filter(|old| old.keeps(&answered_by, wanted))
                .cloned()
                .unwrap_or_else(|| Arc::new(AnswerCache::new(name, answered_by, wanted, fleet)))
        });
        let shedder = settings.shedding.as_ref().map(|shedding| {
            let gate = previous
                .and_then(|old| old.shedder.as_ref())
                .map(|old| Arc::clone(old.gate()));
            Shedder::new(name, shedding, &targets, gate)
        });
        let weights = (settings.strategy == Strategy::Weighted).then(|| {
            let bases = targets
                .iter()
                .map(|t| settings.weights.get(&*t.name).copied().unwrap_or(1.0));
            Arc::new(TargetWeights::new(bases).with_slow_start(settings.slow_start.0))
        });
        let strategy = strategy(name, settings, targets.len(), weights.as_ref(), events);
        Route {
            name: name.into(),
            settings: settings.clone(),
            was_available: targets
                .iter()
                .map(|t| AtomicBool::new(t.is_available()))
                .collect(),
            metrics: RouteMetrics::new(name, targets.iter().map(|t| &t.name)),
            targets,
            strategy,
            weights,
            retry: retry_policy(name, &settings.retry, events),
            signals: RouteSignals::default(),
            cache,
            shedder,
        }
    }

    /// The route's time budget.
    pub fn timeout(&self) -> Duration {
        self.settings.timeout.0
    }

    /// Attempts per target, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.settings.retry.max_attempts
    }

    /// Tells the adaptive weights about targets that came back since the last
    /// look, so they ramp in slowly instead of being flooded.
    pub fn notice_recoveries(&self) {
        let Some(weights) = &self.weights else { return };
        for (index, target) in self.targets.iter().enumerate() {
            let now = target.is_available();
            if self.was_available[index].swap(now, Ordering::Relaxed) != now && now {
                weights.readmitted(index);
            }
        }
    }
}

/// What answers a route with `targets`, in order: each target's name,
/// provider, address and upstream model (part of its cache's keys).
fn answered_by(targets: &[Arc<Target>]) -> String {
    targets
        .iter()
        .map(|target| {
            format!(
                "{}\0{}\0{}\0{}",
                target.name,
                target.provider.name,
                target.provider.base_url(),
                target.upstream_model()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The route's retry passes: exponential backoff with the configured
/// jitter, a budget with a floor, no cap on a target's retry-after but the
/// route's time limit.
fn retry_policy(name: &str, retry: &RetryConfig, events: &Events) -> RetryPolicy {
    let jitter = match retry.jitter {
        JitterConfig::None => Jitter::None,
        JitterConfig::Full => Jitter::Full,
        JitterConfig::Equal => Jitter::Equal,
        JitterConfig::Decorrelated => Jitter::Decorrelated,
    };
    let policy = RetryPolicy::builder()
        .name(name)
        .max_attempts(retry.max_attempts)
        .backoff(Backoff {
            kind: BackoffKind::Exponential { multiplier: 2.0 },
            initial: retry.initial_backoff.0,
            max: retry.max_backoff.0,
            jitter,
        })
        .budget(Budget::new(retry.budget, BUDGET_MIN_PER_SEC, BUDGET_WINDOW))
        .max_retry_after(Duration::MAX)
        .events(events.clone());
    match &retry.same_target {
        Some(same) => policy.same_target(same.max_wait.0),
        None => policy,
    }
    .build()
}

fn strategy(
    name: &str,
    settings: &RouteConfig,
    targets: usize,
    weights: Option<&Arc<TargetWeights>>,
    events: &Events,
) -> RouteStrategy {
    let failover = settings
        .fallback_on
        .as_ref()
        .map(|kinds| FailoverOn::kinds(kinds.iter().map(|kind| kind.0)));
    let fan_out = settings.fan_out.unwrap_or(targets);
    macro_rules! common {
        ($strategy:expr) => {{
            let strategy = $strategy.name(name).events(events.clone());
            match &failover {
                Some(failover) => strategy.fallback_on(failover.clone()),
                None => strategy,
            }
        }};
    }
    match (settings.strategy, weights) {
        (Strategy::Sequential, _) => RouteStrategy::Single(common!(Sequential::new()).into()),
        (Strategy::Parallel, _) => {
            RouteStrategy::Single(common!(Parallel::new().fan_out(fan_out)).into())
        }
        (Strategy::Hedged, _) => {
            // Validation requires `hedge_after` of a hedged route.
            let delay = match settings.hedge_after {
                Some(HedgeAfter::Percentile(q)) => HedgeDelay::Percentile {
                    q,
                    fallback: HEDGE_FALLBACK,
                },
                Some(HedgeAfter::Fixed(delay)) => HedgeDelay::Fixed(delay),
                None => HedgeDelay::Fixed(HEDGE_FALLBACK),
            };
            let budget = Budget::new(settings.hedge_budget, 0.0, BUDGET_WINDOW);
            RouteStrategy::Single(common!(Hedged::new(delay).budget(budget)).into())
        }
        (Strategy::Weighted, Some(weights)) => {
            RouteStrategy::Single(common!(Weighted::new(Arc::clone(weights))).into())
        }
        (Strategy::Weighted, None) => RouteStrategy::Single(common!(Sequential::new()).into()),
        (Strategy::LeastLoaded, _) => {
            RouteStrategy::Single(common!(LeastLoaded::new(targets)).into())
        }
        (Strategy::Quorum, _) => {
            let k = settings.quorum.unwrap_or(1);
            // The route's time limit bounds the quorum like any run.
            RouteStrategy::Quorum(common!(Quorum::new(k).fan_out(fan_out.max(k))))
        }
    }
}
