//! Metric handles of one route, made once so the request path never builds
//! a label set: the route's request duration and unrouted requests when the
//! route is built, and per target (on its first attempt through the route)
//! requests by outcome, attempts by result and time to first token.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::{Counter, Histogram, Label, counter, histogram};
use steadfast::FailureKind;

use super::{ATTEMPTS, REQUEST_DURATION, REQUESTS, TIME_TO_FIRST_TOKEN};
use crate::outcome::{AttemptResult, Outcome, Skip};

/// The `target` label of a request no attempt was sent for.
const NO_TARGET: &str = "none";

/// A route's series. A target's series are registered on its first
/// attempt through the route, so a config with many routes and models holds
/// only the series of those that served traffic.
#[derive(Debug)]
pub struct RouteMetrics {
    route: Arc<str>,
    duration: Histogram,
    /// Index-aligned with the route's targets.
    targets: Vec<LazySeries>,
    /// Requests that no attempt was sent for, by outcome.
    untargeted: [Counter; Outcome::ALL.len()],
}

/// A target's series within one route, registered on first use.
#[derive(Debug)]
struct LazySeries {
    name: Arc<str>,
    series: OnceLock<TargetSeries>,
}

/// The series of one target within one route.
#[derive(Debug)]
struct TargetSeries {
    requests: [Counter; Outcome::ALL.len()],
    first_token: Histogram,
    served: Counter,
    failed: [Counter; FailureKind::ALL.len()],
    skipped: [Counter; Skip::ALL.len()],
}

fn requests(route: &str, target: &str) -> [Counter; Outcome::ALL.len()] {
    Outcome::ALL.map(|outcome| {
        counter!(REQUESTS, "route" => route.to_owned(), "target" => target.to_owned(), "outcome" => outcome.as_str())
    })
}

impl TargetSeries {
    /// Registers the series of `target` within `route`.
    fn new(route: &str, target: &str) -> TargetSeries {
        let attempts = |result: &'static str, detail: Option<(&'static str, &'static str)>| {
            let mut labels = vec![
                Label::new("route", route.to_owned()),
                Label::new("target", target.to_owned()),
                Label::new("result", result),
            ];
            labels.extend(detail.map(|(key, value)| Label::new(key, value)));
            counter!(ATTEMPTS, labels)
        };
        TargetSeries {
            requests: requests(route, target),
            first_token: histogram!(TIME_TO_FIRST_TOKEN, "route" => route.to_owned(), "target" => target.to_owned()),
            served: attempts("served", None),
            failed: FailureKind::ALL.map(|kind| attempts("failed", Some(("kind", kind.as_str())))),
            skipped: Skip::ALL.map(|reason| attempts("skipped", Some(("reason", reason.as_str())))),
        }
    }
}

impl RouteMetrics {
    /// Registers the series of route `route` over the targets named `targets`.
    pub fn new<'a>(route: &str, targets: impl Iterator<Item = &'a Arc<str>>) -> RouteMetrics {
        RouteMetrics {
            route: route.into(),
            duration: histogram!(REQUEST_DURATION, "route" => route.to_owned()),
            targets: targets
                .map(|name| LazySeries {
                    name: Arc::clone(name),
                    series: OnceLock::new(),
                })
                .collect(),
            untargeted: requests(route, NO_TARGET),
        }
    }

    /// The series of `lazy`, registered now if this is its first use.
    fn series<'a>(&self, lazy: &'a LazySeries) -> &'a TargetSeries {
        lazy.series
            .get_or_init(|| TargetSeries::new(&self.route, &lazy.name))
    }

    /// Counts one attempt on the route's target number `target`.
    pub fn attempt(&self, target: usize, result: AttemptResult) {
        let Some(lazy) = self.targets.get(target) else {
            return;
        };
        let series = self.series(lazy);
        let counter = match result {
            AttemptResult::Served => Some(&series.served),
            AttemptResult::Failed { kind } => FailureKind::ALL
                .iter()
                .position(|k| *k == kind)
                .and_then(|i| series.failed.get(i)),
            AttemptResult::Skipped { reason } => series.skipped.get(reason as usize),
            AttemptResult::Cancelled => None,
        };
        if let Some(counter) = counter {
            counter.increment(1);
        }
    }

    /// Counts one request that ended with `outcome` on `target` (the target
    /// of its last sent attempt): its duration is `answered_after` (the whole
    /// answer, or a stream's first token) or, without an answer, `elapsed`.
    /// A stream's first token also counts as its time to first token.
    pub fn request(
        &self,
        target: Option<&str>,
        outcome: Outcome,
        answered_after: Option<Duration>,
        elapsed: Duration,
        stream: bool,
    ) {
        self.duration
            .record(answered_after.unwrap_or(elapsed).as_secs_f64());
        let series = target
            .and_then(|name| self.targets.iter().find(|s| &*s.name == name))
            .map(|lazy| self.series(lazy));
        let requests = series.map_or(&self.untargeted, |series| &series.requests);
        requests[outcome as usize].increment(1);
        if let (Some(series), true, Some(first_token)) = (series, stream, answered_after) {
            series.first_token.record(first_token.as_secs_f64());
        }
    }
}
