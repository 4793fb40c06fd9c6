//! The rules: each turns a [`Snapshot`] into the conditions that hold now,
//! one per subject (a model or a route). Failure rates are computed over a
//! window from a short history of counter samples, so the request path only
//! bumps counters.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use steadfast_config::{AlertRule, RuleKind, format_duration};
use tokio::time::Instant;

use super::sample::Snapshot;

/// A condition that holds now: rule `rule` about `subject`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The rule that matched.
    pub rule: Arc<AlertRule>,
    /// The model or route it is about.
    pub subject: Arc<str>,
    /// What is wrong, in one line, never quoting a secret.
    pub summary: String,
}

/// Counters of one sample, for failure rates: `(good, bad)` per subject.
#[derive(Debug, Clone)]
struct Counters {
    at: Instant,
    targets: BTreeMap<Arc<str>, (u64, u64)>,
    routes: BTreeMap<Arc<str>, (u64, u64)>,
}

/// Evaluates rules against snapshots, keeping what failure rates need.
#[derive(Debug)]
pub struct Watcher {
    rules: Vec<Arc<AlertRule>>,
    history: VecDeque<Counters>,
    spacing: Duration,
}

impl Watcher {
    /// A watcher of `rules`; counter samples closer than `spacing` are not kept.
    pub fn new(rules: &[AlertRule], spacing: Duration) -> Watcher {
        Watcher {
            rules: rules.iter().cloned().map(Arc::new).collect(),
            history: VecDeque::new(),
            spacing,
        }
    }

    /// The latency percentiles the rules need sampled.
    pub fn percentiles(&self) -> Vec<f64> {
        let mut wanted: Vec<f64> = self
            .rules
            .iter()
            .filter(|rule| rule.kind == RuleKind::Latency)
            .map(|rule| rule.percentile_or_default())
            .collect();
        wanted.sort_by(f64::total_cmp);
        wanted.dedup();
        wanted
    }

    /// The conditions that hold in `snapshot`, taken at `now`.
    pub fn evaluate(&mut self, now: Instant, snapshot: &Snapshot) -> Vec<Condition> {
        self.remember(now, snapshot);
        let mut conditions = Vec::new();
        for rule in &self.rules {
            for (subject, summary) in self.matches(rule, now, snapshot) {
                conditions.push(Condition {
                    rule: Arc::clone(rule),
                    subject,
                    summary,
                });
            }
        }
        conditions
    }

    fn matches(
        &self,
        rule: &AlertRule,
        now: Instant,
        snapshot: &Snapshot,
    ) -> Vec<(Arc<str>, String)> {
        let targets = snapshot
            .targets
            .iter()
            .filter(|(name, _)| rule.target.as_deref().is_none_or(|t| t == &***name));
        let routes = snapshot
            .routes
            .iter()
            .filter(|(name, _)| rule.route.as_deref().is_none_or(|r| r == &***name));
        let mut found = Vec::new();
        let mut add = |name: &Arc<str>, summary: String| found.push((Arc::clone(name), summary));
        match rule.kind {
            RuleKind::ConsecutiveFailures => {
                let count = u64::from(rule.count_or_default());
                for (name, t) in targets.filter(|(_, t)| t.streak >= count) {
                    add(
                        name,
                        format!(
                            "model {name}: {} failures in a row (alert at {count})",
                            t.streak
                        ),
                    );
                }
            }
            RuleKind::BreakerOpened => {
                for (name, _) in targets.filter(|(_, t)| t.breaker_open) {
                    add(name, format!("model {name}: circuit breaker is open"));
                }
            }
            RuleKind::Misconfigured => {
                for (name, t) in targets.filter(|(_, t)| t.misconfigured) {
                    add(
                        name,
                        format!(
                            "model {name}: provider {} refused the gateway's credentials (401/403): check its api_key",
                            t.provider
                        ),
                    );
                }
            }
            RuleKind::RouteUnavailable => {
                for (name, r) in routes.filter(|(_, r)| !r.available) {
                    add(
                        name,
                        format!(
                            "route {name}: every target is unavailable ({})",
                            r.targets.join(", ")
                        ),
                    );
                }
            }
            RuleKind::Latency => {
                let p = rule.percentile_or_default();
                let threshold = rule.threshold.map_or(Duration::MAX, |t| t.0);
                for (name, t) in targets {
                    let seen = t
                        .latency
                        .iter()
                        .find(|(q, _)| *q == p)
                        .and_then(|(_, l)| *l);
                    if let Some(latency) = seen.filter(|l| *l > threshold) {
                        add(
                            name,
                            format!(
                                "model {name}: p{} latency {latency:.2?} is above {threshold:?}",
                                p * 100.0
                            ),
                        );
                    }
                }
            }
            RuleKind::FailureRate => {
                let window = rule.window_or_default();
                let old = self.at_or_before(now.checked_sub(window));
                let on_routes = rule.route.is_some();
                let mut judge = |name: &Arc<str>,
                                 what: &str,
                                 (good, bad): (u64, u64),
                                 before: Option<&(u64, u64)>| {
                    let (good0, bad0) = before.copied().unwrap_or_default();
                    let (good, bad) = if good < good0 || bad < bad0 {
                        (good, bad)
                    } else {
                        (good - good0, bad - bad0)
                    };
                    let total = good + bad;
                    let rate = bad as f64 / total.max(1) as f64;
                    if total >= rule.min_requests_or_default()
                        && total > 0
                        && rate >= rule.rate_or_default()
                    {
                        add(
                            name,
                            format!(
                                "{what} {name}: {:.0}% of {total} {} failed over {} (alert at {:.0}%)",
                                rate * 100.0,
                                if what == "route" {
                                    "requests"
                                } else {
                                    "attempts"
                                },
                                format_duration(window),
                                rule.rate_or_default() * 100.0
                            ),
                        );
                    }
                };
                if on_routes {
                    for (name, r) in routes {
                        judge(
                            name,
                            "route",
                            (r.served, r.unserved),
                            old.and_then(|c| c.routes.get(name)),
                        );
                    }
                } else {
                    for (name, t) in targets {
                        judge(
                            name,
                            "model",
                            (t.successes, t.faults),
                            old.and_then(|c| c.targets.get(name)),
                        );
                    }
                }
            }
        }
        found
    }

    /// The newest kept sample taken at or before `at` (the oldest one when
    /// the history is shorter than that).
    fn at_or_before(&self, at: Option<Instant>) -> Option<&Counters> {
        at.and_then(|at| self.history.iter().rev().find(|c| c.at <= at))
            .or_else(|| self.history.front())
    }

    fn remember(&mut self, now: Instant, snapshot: &Snapshot) {
        let longest = self
            .rules
            .iter()
            .filter(|rule| rule.kind == RuleKind::FailureRate)
            .map(|rule| rule.window_or_default())
            .max();
        let Some(longest) = longest else { return };
        if self
            .history
            .back()
            .is_some_and(|c| now < c.at + self.spacing)
        {
            return;
        }
        self.history.push_back(Counters {
            at: now,
            targets: snapshot
                .targets
                .iter()
                .map(|(n, t)| (Arc::clone(n), (t.successes, t.faults)))
                .collect(),
            routes: snapshot
                .routes
                .iter()
                .map(|(n, r)| (Arc::clone(n), (r.served, r.unserved)))
                .collect(),
        });
        // Keep one sample at or before the start of the longest window.
        if let Some(start) = now.checked_sub(longest) {
            while self.history.get(1).is_some_and(|c| c.at <= start) {
                self.history.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests;
