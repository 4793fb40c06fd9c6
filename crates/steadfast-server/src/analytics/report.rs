//! A report over a recent window, built from the [`Ledger`]: availability,
//! failovers and degraded minutes per route; availability, breaker trips,
//! ejections, time out and mean times to detect and recover per target; and
//! the incidents themselves.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use steadfast_proxy::runtime::DegradedCounts;

use super::ledger::{Cause, Incident, Ledger, MINUTE_MS, RouteMinute, TargetMinute};

/// How many incidents a report lists (the newest).
pub const LISTED_INCIDENTS: usize = 100;

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The window asked for, in seconds.
    pub window_s: u64,
    /// How much of it the gateway has history for (it may have started
    /// later), in seconds.
    pub covered_s: u64,
    /// Start of the window (Unix ms).
    pub from_ms: u64,
    /// End of the window: when the report was made (Unix ms).
    pub to_ms: u64,
    /// Every route and target together.
    pub overall: Overall,
    /// Per route, by name.
    pub routes: Vec<RouteReport>,
    /// Per target, by name.
    pub targets: Vec<TargetReport>,
    /// Incidents in the window (the newest [`LISTED_INCIDENTS`]), oldest first.
    pub incidents: Vec<IncidentReport>,
    /// Incidents in the window, listed or not.
    pub incident_count: usize,
}

/// Figures over every route and target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overall {
    /// Requests that ended.
    pub requests: u64,
    /// Requests no target served.
    pub errors: u64,
    /// Share of requests served (a request's own faults count as served);
    /// `None` without requests.
    pub availability: Option<f64>,
    /// Requests served after a failover.
    pub failovers: u64,
    /// Requests answered without a model (from the cache, stale, the static
    /// last answer) or shed.
    pub degraded: DegradedCounts,
    /// Breaker trips.
    pub breaker_trips: u64,
    /// Health ejections.
    pub ejections: u64,
    /// Mean time from the first of a run of failures to the target taken
    /// out, in milliseconds.
    pub mttd_ms: Option<f64>,
    /// Mean time from a target taken out to admitted again, in milliseconds.
    pub mttr_ms: Option<f64>,
    /// Minutes in which some route was degraded.
    pub degraded_minutes: u64,
    /// Minutes in which some route had every target out.
    pub down_minutes: u64,
}

/// One route's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteReport {
    /// The route.
    pub name: String,
    /// Requests that ended.
    pub requests: u64,
    /// Requests no target served.
    pub errors: u64,
    /// Share of requests served; `None` without requests.
    pub availability: Option<f64>,
    /// Requests served after another target failed or was skipped.
    pub failovers: u64,
    /// Requests answered without a model (from the cache, stale, the static
    /// last answer) or shed.
    pub degraded: DegradedCounts,
    /// Minutes with a failed request or a target out.
    pub degraded_minutes: u64,
    /// Minutes with every target out.
    pub down_minutes: u64,
}

/// One target's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    /// The target (model name in the config).
    pub name: String,
    /// Attempts that ended.
    pub attempts: u64,
    /// Attempts that failed.
    pub failures: u64,
    /// Share of attempts that succeeded; `None` without attempts.
    pub availability: Option<f64>,
    /// Breaker trips.
    pub breaker_trips: u64,
    /// Health ejections.
    pub ejections: u64,
    /// Seconds it was out (sampled every second).
    pub out_s: u64,
    /// Mean time to detect its incidents, in milliseconds.
    pub mttd_ms: Option<f64>,
    /// Mean time to recover from its incidents, in milliseconds.
    pub mttr_ms: Option<f64>,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentReport {
    /// The target.
    pub target: String,
    /// What took it out.
    pub cause: Cause,
    /// When it was taken out (Unix ms).
    pub out_at_ms: u64,
    /// When its run of failures began, if known (Unix ms).
    pub failing_since_ms: Option<u64>,
    /// When it was admitted again (Unix ms); `None` if it is still out.
    pub back_at_ms: Option<u64>,
    /// Failing to taken out, in milliseconds, if known.
    pub detect_ms: Option<u64>,
    /// Taken out to admitted again, in milliseconds, once back.
    pub recover_ms: Option<u64>,
}

impl From<&Incident> for IncidentReport {
    fn from(incident: &Incident) -> IncidentReport {
        IncidentReport {
            target: incident.target.to_string(),
            cause: incident.cause,
            out_at_ms: incident.out_at_ms,
            failing_since_ms: incident.failing_since_ms,
            back_at_ms: incident.back_at_ms,
            detect_ms: incident
                .failing_since_ms
                .map(|since| incident.out_at_ms.saturating_sub(since)),
            recover_ms: incident
                .back_at_ms
                .map(|back| back.saturating_sub(incident.out_at_ms)),
        }
    }
}

/// The report over the `window_s` seconds up to `now_ms`. Minutes count
/// when they overlap the window; incidents when they were taken out in it.
pub fn build(ledger: &Ledger, window_s: u64, now_ms: u64) -> Report {
    let from_ms = now_ms.saturating_sub(window_s.saturating_mul(1000));
    let minutes: Vec<_> = ledger
        .minutes()
        .filter(|m| m.start_ms + MINUTE_MS > from_ms && m.start_ms <= now_ms)
        .collect();
    let mut routes: BTreeMap<&Arc<str>, (RouteMinute, u64, u64)> = BTreeMap::new();
    let mut targets: BTreeMap<&Arc<str>, TargetMinute> = BTreeMap::new();
    let (mut degraded_minutes, mut down_minutes) = (0, 0);
    for minute in &minutes {
        for (name, route) in &minute.routes {
            let (sum, degraded, down) = routes.entry(name).or_default();
            sum.requests += route.requests;
            sum.errors += route.errors;
            sum.failovers += route.failovers;
            sum.degraded.add(route.degraded);
            *degraded += u64::from(route.degraded_s > 0);
            *down += u64::from(route.down_s > 0);
        }
        degraded_minutes += u64::from(minute.routes.values().any(|r| r.degraded_s > 0));
        down_minutes += u64::from(minute.routes.values().any(|r| r.down_s > 0));
        for (name, target) in &minute.targets {
            let sum = targets.entry(name).or_default();
            sum.attempts += target.attempts;
            sum.failures += target.failures;
            sum.out_s += target.out_s;
            sum.trips += target.trips;
            sum.ejections += target.ejections;
        }
    }
    let mut incidents: Vec<IncidentReport> = ledger
        .incidents()
        .filter(|i| i.out_at_ms >= from_ms && i.out_at_ms <= now_ms)
        .map(IncidentReport::from)
        .collect();
    incidents.sort_by_key(|i| i.out_at_ms);
    let mean_times = |target: Option<&str>| {
        let of_target = || {
            incidents
                .iter()
                .filter(move |i| target.is_none_or(|t| i.target == t))
        };
        (
            mean(of_target().filter_map(|i| i.detect_ms)),
            mean(of_target().filter_map(|i| i.recover_ms)),
        )
    };
    let route_reports: Vec<RouteReport> = routes
        .into_iter()
        .map(|(name, (sum, degraded, down))| RouteReport {
            name: name.to_string(),
            requests: sum.requests,
            errors: sum.errors,
            availability: served_share(sum.requests, sum.errors),
            failovers: sum.failovers,
            degraded: sum.degraded,
            degraded_minutes: degraded,
            down_minutes: down,
        })
        .collect();
    let target_reports: Vec<TargetReport> = targets
        .into_iter()
        .map(|(name, sum)| {
            let (mttd_ms, mttr_ms) = mean_times(Some(name));
            TargetReport {
                name: name.to_string(),
                attempts: sum.attempts,
                failures: sum.failures,
                availability: served_share(sum.attempts, sum.failures),
                breaker_trips: u64::from(sum.trips),
                ejections: u64::from(sum.ejections),
                out_s: u64::from(sum.out_s),
                mttd_ms,
                mttr_ms,
            }
        })
        .collect();
    let requests = route_reports.iter().map(|r| r.requests).sum();
    let errors = route_reports.iter().map(|r| r.errors).sum();
    let (mttd_ms, mttr_ms) = mean_times(None);
    let overall = Overall {
        requests,
        errors,
        availability: served_share(requests, errors),
        failovers: route_reports.iter().map(|r| r.failovers).sum(),
        degraded: route_reports
            .iter()
            .fold(DegradedCounts::default(), |mut all, r| {
                all.add(r.degraded);
                all
            }),
        breaker_trips: target_reports.iter().map(|t| t.breaker_trips).sum(),
        ejections: target_reports.iter().map(|t| t.ejections).sum(),
        mttd_ms,
        mttr_ms,
        degraded_minutes,
        down_minutes,
    };
    let incident_count = incidents.len();
    let listed = incidents
        .into_iter()
        .skip(incident_count.saturating_sub(LISTED_INCIDENTS))
        .collect();
    Report {
        window_s,
        covered_s: now_ms.saturating_sub(from_ms.max(ledger.started_ms())) / 1000,
        from_ms,
        to_ms: now_ms,
        overall,
        routes: route_reports,
        targets: target_reports,
        incidents: listed,
        incident_count,
    }
}

/// The share of `total` that did not fail; `None` without any.
fn served_share(total: u64, failed: u64) -> Option<f64> {
    share(total - failed.min(total), total)
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn mean(values: impl Iterator<Item = u64>) -> Option<f64> {
    let (sum, count) = values.fold((0u64, 0u64), |(s, c), v| (s.saturating_add(v), c + 1));
    share(sum, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::ledger::{RouteSecond, TargetSecond};

    const HOUR_S: u64 = 3600;

    /// Two hours of history: an hour ago `gpt` failed for a minute and was
    /// out 3 s, `chat` failing over to `claude` meanwhile.
    fn ledger() -> (Ledger, u64) {
        let start = 10 * HOUR_S * 1000;
        let mut ledger = Ledger::new(start);
        let (chat, gpt, claude): (Arc<str>, Arc<str>, Arc<str>) =
            ("chat".into(), "gpt".into(), "claude".into());
        let mut now = start;
        for second in 0..(2 * HOUR_S) {
            now = start + second * 1000;
            let trouble = (HOUR_S..HOUR_S + 3).contains(&second);
            let route = RouteSecond {
                requests: 10,
                errors: u64::from(second == HOUR_S),
                failovers: if trouble { 9 } else { 0 },
                degraded: DegradedCounts {
                    stale: u64::from(trouble),
                    shed: u64::from(trouble) * 2,
                    ..DegradedCounts::default()
                },
                some_out: trouble,
                all_out: false,
            };
            let gpt_second = TargetSecond {
                attempts: 10,
                failures: if trouble { 10 } else { 0 },
                out: trouble,
            };
            let claude_second = TargetSecond {
                attempts: if trouble { 9 } else { 0 },
                failures: 0,
                out: false,
            };
            ledger.second(
                now,
                [(&chat, route)],
                [(&gpt, gpt_second), (&claude, claude_second)],
            );
            if second == HOUR_S {
                ledger.taken_out(&gpt, Cause::BreakerOpen, now + 200, Some(now));
            }
            if second == HOUR_S + 3 {
                ledger.back("gpt", now + 200);
            }
        }
        (ledger, now)
    }

    #[test]
    fn a_window_holding_the_incident_shows_it_all() {
        let (ledger, now) = ledger();
        let report = build(&ledger, 2 * HOUR_S, now);
        assert_eq!(report.overall.requests, 72_000);
        assert_eq!(report.overall.errors, 1);
        assert_eq!(report.overall.failovers, 27);
        assert_eq!(
            (report.overall.degraded.stale, report.overall.degraded.shed),
            (3, 6)
        );
        assert_eq!(report.routes[0].degraded.stale, 3);
        assert_eq!(report.overall.breaker_trips, 1);
        assert_eq!(report.overall.mttd_ms, Some(200.0));
        assert_eq!(report.overall.mttr_ms, Some(3000.0));
        assert_eq!(report.overall.degraded_minutes, 1);
        assert_eq!(report.overall.down_minutes, 0);
        let gpt = report.targets.iter().find(|t| t.name == "gpt").unwrap();
        assert_eq!((gpt.attempts, gpt.failures, gpt.out_s), (72_000, 30, 3));
        assert_eq!(gpt.breaker_trips, 1);
        assert_eq!(report.routes[0].degraded_minutes, 1);
        assert_eq!(report.incidents.len(), 1);
        assert_eq!(report.incidents[0].detect_ms, Some(200));
        assert_eq!(report.incidents[0].recover_ms, Some(3000));
        let availability = report.routes[0].availability.unwrap();
        assert!((availability - (1.0 - 1.0 / 72_000.0)).abs() < 1e-12);
    }

    #[test]
    fn a_window_after_the_incident_leaves_it_out() {
        let (ledger, now) = ledger();
        let report = build(&ledger, 30 * 60, now);
        assert_eq!(report.overall.errors, 0);
        assert_eq!(report.overall.breaker_trips, 0);
        assert_eq!(report.overall.degraded_minutes, 0);
        assert_eq!(report.overall.mttr_ms, None);
        assert!(report.incidents.is_empty());
        assert_eq!(report.overall.availability, Some(1.0));
        assert_eq!(report.covered_s, 30 * 60);
    }

    #[test]
    fn a_window_longer_than_the_history_says_how_much_it_covers() {
        let (ledger, now) = ledger();
        let report = build(&ledger, 24 * HOUR_S, now);
        assert_eq!(report.window_s, 24 * HOUR_S);
        assert_eq!(report.covered_s, 2 * HOUR_S - 1);
    }

    #[test]
    fn an_open_incident_has_no_recovery_yet() {
        let mut ledger = Ledger::new(0);
        let gpt: Arc<str> = "gpt".into();
        ledger.taken_out(&gpt, Cause::Unhealthy, 5_000, None);
        let report = build(&ledger, 60, 10_000);
        assert_eq!(report.incidents[0].back_at_ms, None);
        assert_eq!(report.overall.mttr_ms, None);
        assert_eq!(report.overall.ejections, 1);
        assert_eq!(report.overall.availability, None);
    }
}
