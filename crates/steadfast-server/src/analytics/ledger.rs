//! The bounded history the reports are built from: one bucket per wall-clock
//! minute for the last day, holding only the routes and targets that did
//! something in it, and the newest incidents (a target taken out, until it
//! was admitted again).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use steadfast_proxy::runtime::DegradedCounts;

use crate::dashboard::push_bounded;

/// How many minute buckets are kept: one day.
pub const MINUTES: usize = 24 * 60;
/// How many finished incidents are kept.
pub const INCIDENTS: usize = 1000;
/// A minute, in milliseconds.
pub const MINUTE_MS: u64 = 60_000;

/// One route's second, as the sampler saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteSecond {
    /// Requests that ended.
    pub requests: u64,
    /// Of those, the ones no target served (the request's own faults excluded).
    pub errors: u64,
    /// Of the served ones, those served after another target failed or was skipped.
    pub failovers: u64,
    /// Of all, those answered without a model (cache, stale, static) or shed.
    pub degraded: DegradedCounts,
    /// Whether any of its targets was out (breaker open, unhealthy, cooling down).
    pub some_out: bool,
    /// Whether every one of its targets was out.
    pub all_out: bool,
}

/// One target's second, as the sampler saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetSecond {
    /// Attempts that ended.
    pub attempts: u64,
    /// Of those, the ones that failed.
    pub failures: u64,
    /// Whether it was out (not admitting requests) at the sample.
    pub out: bool,
}

/// A route's minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteMinute {
    /// Requests that ended.
    pub requests: u64,
    /// Requests no target served.
    pub errors: u64,
    /// Requests served after a failover.
    pub failovers: u64,
    /// Requests answered without a model, or shed.
    pub degraded: DegradedCounts,
    /// Seconds with a target out or a failed request.
    pub degraded_s: u32,
    /// Seconds with every target out.
    pub down_s: u32,
}

/// A target's minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetMinute {
    /// Attempts that ended.
    pub attempts: u64,
    /// Attempts that failed.
    pub failures: u64,
    /// Seconds it was out.
    pub out_s: u32,
    /// Breaker trips (closed to open).
    pub trips: u32,
    /// Ejections (healthy or unknown to unhealthy).
    pub ejections: u32,
}

/// One wall-clock minute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Minute {
    /// Its start, in Unix milliseconds (a multiple of a minute).
    pub start_ms: u64,
    /// Routes that had traffic or trouble in it.
    pub routes: BTreeMap<Arc<str>, RouteMinute>,
    /// Targets that had traffic or trouble in it.
    pub targets: BTreeMap<Arc<str>, TargetMinute>,
}

/// Why a target was taken out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Its circuit breaker opened.
    BreakerOpen,
    /// Health checks or outlier detection ejected it.
    Unhealthy,
}

/// A target taken out, and when it came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// The target.
    pub target: Arc<str>,
    /// What took it out first.
    pub cause: Cause,
    /// When the run of failures that led to it began, if known (Unix ms).
    pub failing_since_ms: Option<u64>,
    /// When it was taken out (Unix ms).
    pub out_at_ms: u64,
    /// When it was admitted again (Unix ms); `None` while it is still out.
    pub back_at_ms: Option<u64>,
}

/// The history.
#[derive(Debug)]
pub struct Ledger {
    started_ms: u64,
    /// Finished minutes, oldest first.
    minutes: VecDeque<Minute>,
    /// The minute in progress.
    current: Minute,
    incidents: VecDeque<Incident>,
    open: HashMap<Arc<str>, Incident>,
}

impl Ledger {
    /// An empty history starting at `now_ms`.
    pub fn new(now_ms: u64) -> Ledger {
        Ledger {
            started_ms: now_ms,
            minutes: VecDeque::new(),
            current: Minute {
                start_ms: minute_of(now_ms),
                ..Minute::default()
            },
            incidents: VecDeque::new(),
            open: HashMap::new(),
        }
    }

    /// When the history began (Unix ms).
    pub fn started_ms(&self) -> u64 {
        self.started_ms
    }

    /// The minutes, oldest first, ending with the one in progress.
    pub fn minutes(&self) -> impl Iterator<Item = &Minute> {
        self.minutes.iter().chain([&self.current])
    }

    /// Finished incidents, oldest first, then the ones still open.
    pub fn incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.iter().chain(self.open.values())
    }

    /// Adds one sampled second at `at_ms`. Routes and targets with nothing
    /// to count take no room.
    pub fn second<'a>(
        &mut self,
        at_ms: u64,
        routes: impl IntoIterator<Item = (&'a Arc<str>, RouteSecond)>,
        targets: impl IntoIterator<Item = (&'a Arc<str>, TargetSecond)>,
    ) {
        let minute = self.minute_at(at_ms);
        for (name, second) in routes {
            let degraded = second.some_out || second.errors > 0;
            if second.requests == 0 && !degraded {
                continue;
            }
            let entry = minute.routes.entry(Arc::clone(name)).or_default();
            entry.requests += second.requests;
            entry.errors += second.errors;
            entry.failovers += second.failovers;
            entry.degraded.add(second.degraded);
            entry.degraded_s += u32::from(degraded);
            entry.down_s += u32::from(second.all_out);
        }
        for (name, second) in targets {
            if second.attempts == 0 && !second.out {
                continue;
            }
            let entry = minute.targets.entry(Arc::clone(name)).or_default();
            entry.attempts += second.attempts;
            entry.failures += second.failures;
            entry.out_s += u32::from(second.out);
        }
    }

    /// `target` was taken out at `at_ms` for `cause`, after failing since
    /// `failing_since_ms` (if known). Counted once per cause; an incident opens
    /// unless one is open already.
    pub fn taken_out(
        &mut self,
        target: &Arc<str>,
        cause: Cause,
        at_ms: u64,
        failing_since_ms: Option<u64>,
    ) {
        let entry = self
            .minute_at(at_ms)
            .targets
            .entry(Arc::clone(target))
            .or_default();
        match cause {
            Cause::BreakerOpen => entry.trips += 1,
            Cause::Unhealthy => entry.ejections += 1,
        }
        self.open
            .entry(Arc::clone(target))
            .or_insert_with(|| Incident {
                target: Arc::clone(target),
                cause,
                failing_since_ms: failing_since_ms.map(|since| since.min(at_ms)),
                out_at_ms: at_ms,
                back_at_ms: None,
            });
    }

    /// `target` admits requests again at `at_ms`: its open incident ends.
    pub fn back(&mut self, target: &str, at_ms: u64) {
        if let Some(mut incident) = self.open.remove(target) {
            incident.back_at_ms = Some(at_ms.max(incident.out_at_ms));
            push_bounded(&mut self.incidents, incident, INCIDENTS);
        }
    }

    /// Whether `target` has an open incident.
    pub fn is_out(&self, target: &str) -> bool {
        self.open.contains_key(target)
    }

    /// The bucket of the minute holding `at_ms`, opening newer ones as the
    /// clock moves on (a time before the newest minute lands in it).
    fn minute_at(&mut self, at_ms: u64) -> &mut Minute {
        let start_ms = minute_of(at_ms);
        if start_ms > self.current.start_ms {
            let next = Minute {
                start_ms,
                ..Minute::default()
            };
            let finished = std::mem::replace(&mut self.current, next);
            push_bounded(&mut self.minutes, finished, MINUTES - 1);
        }
        &mut self.current
    }
}

/// The start of the minute holding `at_ms`.
pub fn minute_of(at_ms: u64) -> u64 {
    at_ms - at_ms % MINUTE_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Arc<str> {
        text.into()
    }

    #[test]
    fn seconds_sum_into_their_minute_and_idle_ones_take_no_room() {
        let mut ledger = Ledger::new(120_000);
        let (gpt, claude) = (name("gpt"), name("claude"));
        let busy = TargetSecond {
            attempts: 3,
            failures: 1,
            out: false,
        };
        ledger.second(
            121_000,
            [],
            [(&gpt, busy), (&claude, TargetSecond::default())],
        );
        ledger.second(122_000, [], [(&gpt, busy)]);
        ledger.second(181_000, [], [(&gpt, busy)]);
        let minutes: Vec<&Minute> = ledger.minutes().collect();
        assert_eq!(minutes.len(), 2);
        assert_eq!(minutes[0].start_ms, 120_000);
        assert_eq!(minutes[0].targets[&gpt].attempts, 6);
        assert_eq!(minutes[0].targets[&gpt].failures, 2);
        assert!(!minutes[0].targets.contains_key(&claude));
        assert_eq!(minutes[1].start_ms, 180_000);
    }

    #[test]
    fn a_route_second_with_errors_or_a_target_out_is_degraded() {
        let mut ledger = Ledger::new(0);
        let chat = name("chat");
        let ok = RouteSecond {
            requests: 5,
            ..RouteSecond::default()
        };
        let erring = RouteSecond {
            requests: 5,
            errors: 1,
            ..RouteSecond::default()
        };
        let down = RouteSecond {
            some_out: true,
            all_out: true,
            ..RouteSecond::default()
        };
        for (at, second) in [(1_000, ok), (2_000, erring), (3_000, down)] {
            ledger.second(at, [(&chat, second)], []);
        }
        let minute = &ledger.minutes().next().unwrap().routes[&chat];
        assert_eq!(
            *minute,
            RouteMinute {
                requests: 10,
                errors: 1,
                failovers: 0,
                degraded: DegradedCounts::default(),
                degraded_s: 2,
                down_s: 1
            }
        );
    }

    #[test]
    fn an_incident_opens_once_and_closes_when_the_target_is_back() {
        let mut ledger = Ledger::new(0);
        let gpt = name("gpt");
        ledger.taken_out(&gpt, Cause::BreakerOpen, 10_000, Some(9_700));
        ledger.taken_out(&gpt, Cause::Unhealthy, 10_500, None);
        assert!(ledger.is_out("gpt"));
        ledger.back("gpt", 12_000);
        ledger.back("gpt", 13_000);
        let incidents: Vec<&Incident> = ledger.incidents().collect();
        assert_eq!(
            incidents,
            [&Incident {
                target: gpt.clone(),
                cause: Cause::BreakerOpen,
                failing_since_ms: Some(9_700),
                out_at_ms: 10_000,
                back_at_ms: Some(12_000),
            }]
        );
        let minute = &ledger.minutes().next().unwrap().targets[&gpt];
        assert_eq!((minute.trips, minute.ejections), (1, 1));
    }

    #[test]
    fn history_stays_bounded() {
        let mut ledger = Ledger::new(0);
        let gpt = name("gpt");
        let busy = TargetSecond {
            attempts: 1,
            ..TargetSecond::default()
        };
        for minute in 0..(MINUTES as u64 + 10) {
            ledger.second(minute * MINUTE_MS, [], [(&gpt, busy)]);
        }
        for i in 0..(INCIDENTS as u64 + 5) {
            ledger.taken_out(&gpt, Cause::BreakerOpen, i, None);
            ledger.back("gpt", i);
        }
        assert_eq!(ledger.minutes().count(), MINUTES);
        assert_eq!(ledger.minutes().next().unwrap().start_ms, 10 * MINUTE_MS);
        assert_eq!(ledger.incidents().count(), INCIDENTS);
    }
}
