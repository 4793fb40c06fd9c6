//! Metric handles of one route, made once when the route is built: the
//! route's request duration and, per target, requests by outcome, attempts by
//! result and time to first token.

use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Histogram, Label, counter, histogram};
use steadfast::FailureKind;

use super::{ATTEMPTS, REQUEST_DURATION, REQUESTS, TIME_TO_FIRST_TOKEN};
use crate::proxy::admission::Skip;
use crate::proxy::engine::{AttemptResult, Failed, Served, Unserved};
use crate::runtime::Target;

/// The `target` label of a request no attempt was sent for.
const NO_TARGET: &str = "none";

/// How a request ended, as counted and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A target answered.
    Served,
    /// Every target failed, was skipped or ran out of attempts.
    Failed,
    /// The request itself was at fault; no target would take it.
    ClientError,
    /// The route's time budget ran out.
    Timeout,
}

impl Outcome {
    /// Every outcome, in declaration order.
    pub const ALL: [Outcome; 4] = [
        Outcome::Served,
        Outcome::Failed,
        Outcome::ClientError,
        Outcome::Timeout,
    ];

    /// How the attempt loop's result counts.
    pub fn of<T>(result: &Result<Served<T>, Failed>) -> Outcome {
        match result {
            Ok(_) => Outcome::Served,
            Err(failed) => match failed.reason {
                Unserved::Client(_) => Outcome::ClientError,
                Unserved::TimedOut { .. } => Outcome::Timeout,
                Unserved::Exhausted { .. } | Unserved::NoQuorum { .. } => Outcome::Failed,
            },
        }
    }

    /// The snake_case name used in metrics labels and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Served => "served",
            Outcome::Failed => "failed",
            Outcome::ClientError => "client_error",
            Outcome::Timeout => "timeout",
        }
    }
}

/// A route's series.
#[derive(Debug)]
pub struct RouteMetrics {
    duration: Histogram,
    /// Index-aligned with the route's targets.
    targets: Vec<TargetSeries>,
    /// Requests that no attempt was sent for, by outcome.
    untargeted: [Counter; 4],
}

/// The series of one target within one route.
#[derive(Debug)]
struct TargetSeries {
    name: Arc<str>,
    requests: [Counter; 4],
    first_token: Histogram,
    served: Counter,
    failed: [Counter; FailureKind::ALL.len()],
    skipped: [Counter; Skip::ALL.len()],
}

impl RouteMetrics {
    /// Registers the series of route `route` over `targets`.
    pub fn new(route: &str, targets: &[Arc<Target>]) -> RouteMetrics {
        let requests = |target: &str| {
            Outcome::ALL.map(|outcome| {
                counter!(REQUESTS, "route" => route.to_string(), "target" => target.to_owned(), "outcome" => outcome.as_str())
            })
        };
        let targets = targets
            .iter()
            .map(|target| {
                let attempts = |result: &'static str, detail: Option<(&'static str, &'static str)>| {
                    let mut labels = vec![
                        Label::new("route", route.to_string()),
                        Label::new("target", target.name.to_string()),
                        Label::new("result", result),
                    ];
                    labels.extend(detail.map(|(key, value)| Label::new(key, value)));
                    counter!(ATTEMPTS, labels)
                };
                TargetSeries {
                    name: Arc::clone(&target.name),
                    requests: requests(&target.name),
                    first_token: histogram!(TIME_TO_FIRST_TOKEN, "route" => route.to_string(), "target" => target.name.to_string()),
                    served: attempts("served", None),
                    failed: FailureKind::ALL
                        .map(|kind| attempts("failed", Some(("kind", kind.as_str())))),
                    skipped: Skip::ALL
                        .map(|reason| attempts("skipped", Some(("reason", reason.as_str())))),
                }
            })
            .collect();
        RouteMetrics {
            duration: histogram!(REQUEST_DURATION, "route" => route.to_string()),
            targets,
            untargeted: requests(NO_TARGET),
        }
    }

    /// Counts one attempt on the route's target number `target`.
    pub fn attempt(&self, target: usize, result: AttemptResult) {
        let Some(series) = self.targets.get(target) else {
            return;
        };
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

    /// Counts one request that ended with `outcome` after `elapsed`, on
    /// `target` (the target of its last sent attempt). A stream is answered
    /// at its first token, which also counts as its time to first token.
    pub fn request(&self, target: Option<&str>, outcome: Outcome, elapsed: Duration, stream: bool) {
        let seconds = elapsed.as_secs_f64();
        self.duration.record(seconds);
        let series = target.and_then(|name| self.targets.iter().find(|s| &*s.name == name));
        let requests = series.map_or(&self.untargeted, |series| &series.requests);
        requests[outcome as usize].increment(1);
        if let (Some(series), true, Outcome::Served) = (series, stream, outcome) {
            series.first_token.record(seconds);
        }
    }
}
