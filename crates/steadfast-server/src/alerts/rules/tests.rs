//! The rules against hand-made snapshots, with paused time for windows.

use std::time::Duration;

use steadfast_config::ConfigDuration;
use tokio::time::Instant;

use super::*;
use crate::alerts::sample::{RouteSample, TargetSample};

fn rule(kind: RuleKind, edit: impl FnOnce(&mut AlertRule)) -> AlertRule {
    let mut rule = AlertRule {
        name: "r".into(),
        kind,
        target: None,
        route: None,
        count: None,
        rate: None,
        window: None,
        min_requests: None,
        percentile: None,
        threshold: None,
        channels: vec!["hook".into()],
        escalate_to: Vec::new(),
    };
    edit(&mut rule);
    rule
}

fn snapshot(targets: &[(&str, TargetSample)], routes: &[(&str, RouteSample)]) -> Snapshot {
    Snapshot {
        targets: targets
            .iter()
            .map(|(n, t)| ((*n).into(), t.clone()))
            .collect(),
        routes: routes
            .iter()
            .map(|(n, r)| ((*n).into(), r.clone()))
            .collect(),
    }
}

fn healthy() -> TargetSample {
    TargetSample {
        provider: "p0".into(),
        available: true,
        ..TargetSample::default()
    }
}

fn subjects(conditions: &[Condition]) -> Vec<String> {
    conditions.iter().map(|c| c.subject.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn consecutive_failures_default_to_three_and_can_name_one_target() {
    let mut every = Watcher::new(
        &[rule(RuleKind::ConsecutiveFailures, |_| {})],
        Duration::from_secs(1),
    );
    let mut one = Watcher::new(
        &[rule(RuleKind::ConsecutiveFailures, |r| {
            r.target = Some("m1".into())
        })],
        Duration::from_secs(1),
    );
    let s = snapshot(
        &[
            (
                "m0",
                TargetSample {
                    streak: 3,
                    ..healthy()
                },
            ),
            (
                "m1",
                TargetSample {
                    streak: 4,
                    ..healthy()
                },
            ),
            (
                "m2",
                TargetSample {
                    streak: 2,
                    ..healthy()
                },
            ),
        ],
        &[],
    );
    let now = Instant::now();
    let found = every.evaluate(now, &s);
    assert_eq!(subjects(&found), ["m0", "m1"]);
    assert_eq!(
        found[0].summary,
        "model m0: 3 failures in a row (alert at 3)"
    );
    assert_eq!(subjects(&one.evaluate(now, &s)), ["m1"]);
}

#[tokio::test(start_paused = true)]
async fn breaker_misconfigured_route_and_latency_conditions() {
    let rules = [
        rule(RuleKind::BreakerOpened, |r| r.name = "open".into()),
        rule(RuleKind::Misconfigured, |r| r.name = "creds".into()),
        rule(RuleKind::RouteUnavailable, |r| r.name = "route".into()),
        rule(RuleKind::Latency, |r| {
            r.name = "slow".into();
            r.threshold = Some(ConfigDuration::secs(5));
        }),
    ];
    let mut watcher = Watcher::new(&rules, Duration::from_secs(1));
    assert_eq!(watcher.percentiles(), [0.99]);
    let s = snapshot(
        &[
            (
                "m0",
                TargetSample {
                    breaker_open: true,
                    available: false,
                    ..healthy()
                },
            ),
            (
                "m1",
                TargetSample {
                    misconfigured: true,
                    latency: vec![(0.99, Some(Duration::from_secs(6)))],
                    ..healthy()
                },
            ),
            (
                "m2",
                TargetSample {
                    latency: vec![(0.99, Some(Duration::from_secs(4)))],
                    ..healthy()
                },
            ),
        ],
        &[
            (
                "chat",
                RouteSample {
                    available: false,
                    targets: vec!["m0".into()],
                    ..RouteSample::default()
                },
            ),
            (
                "other",
                RouteSample {
                    available: true,
                    targets: vec!["m1".into()],
                    ..RouteSample::default()
                },
            ),
        ],
    );
    let found: Vec<(String, String)> = watcher
        .evaluate(Instant::now(), &s)
        .into_iter()
        .map(|c| (c.rule.name.clone(), c.summary))
        .collect();
    assert_eq!(
        found,
        [
            ("open".into(), "model m0: circuit breaker is open".into()),
            ("creds".into(), "model m1: provider p0 refused the gateway's credentials (401/403): check its api_key".into()),
            ("route".into(), "route chat: every target is unavailable (m0)".into()),
            ("slow".into(), "model m1: p99 latency 6.00s is above 5s".into()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn failure_rate_is_judged_over_the_window_with_a_minimum() {
    let target_rule = rule(RuleKind::FailureRate, |r| {
        r.window = Some(ConfigDuration::secs(10));
        r.min_requests = Some(10);
    });
    let route_rule = rule(RuleKind::FailureRate, |r| {
        r.name = "route".into();
        r.route = Some("chat".into());
        r.rate = Some(0.5);
    });
    let mut watcher = Watcher::new(&[target_rule, route_rule], Duration::from_secs(1));
    let at = |successes, faults, served, unserved| {
        snapshot(
            &[(
                "m0",
                TargetSample {
                    successes,
                    faults,
                    ..healthy()
                },
            )],
            &[(
                "chat",
                RouteSample {
                    served,
                    unserved,
                    available: true,
                    ..RouteSample::default()
                },
            )],
        )
    };
    // Old history: 1000 successes before the window.
    assert!(
        watcher
            .evaluate(Instant::now(), &at(1000, 0, 1000, 0))
            .is_empty()
    );
    tokio::time::advance(Duration::from_secs(20)).await;
    assert!(
        watcher
            .evaluate(Instant::now(), &at(1000, 0, 1000, 0))
            .is_empty()
    );
    tokio::time::advance(Duration::from_secs(5)).await;
    // 9 attempts in the window, all failed: below min_requests.
    assert!(
        watcher
            .evaluate(Instant::now(), &at(1000, 9, 1000, 0))
            .is_empty()
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    // 41 + 10 in the window: 19.6% fails the model; the route's 40% is below its 50%.
    assert!(
        watcher
            .evaluate(Instant::now(), &at(1041, 10, 1006, 4))
            .is_empty()
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    let found = watcher.evaluate(Instant::now(), &at(1041, 30, 1006, 7));
    assert_eq!(subjects(&found), ["m0", "chat"]);
    assert_eq!(
        found[0].summary,
        "model m0: 42% of 71 attempts failed over 10s (alert at 20%)"
    );
    assert_eq!(
        found[1].summary,
        "route chat: 54% of 13 requests failed over 5m (alert at 50%)"
    );
    // Ten seconds of successes later the failures left the model's window,
    // and they are a small share of the route's.
    for second in 1..=10 {
        tokio::time::advance(Duration::from_secs(1)).await;
        watcher.evaluate(
            Instant::now(),
            &at(1041 + second * 10, 30, 1006 + second * 20, 7),
        );
    }
    tokio::time::advance(Duration::from_secs(1)).await;
    let found = watcher.evaluate(Instant::now(), &at(1200, 30, 1300, 7));
    assert_eq!(subjects(&found), Vec::<String>::new());
}
