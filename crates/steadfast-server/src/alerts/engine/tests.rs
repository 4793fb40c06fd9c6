//! The engine with paused time and hand-made conditions.

use steadfast_config::RuleKind;

use super::*;

const TIMING: Timing = Timing {
    repeat_interval: Duration::from_secs(60),
    escalate_after: Duration::from_secs(10),
};

fn rule(escalate_to: &[&str]) -> Arc<AlertRule> {
    Arc::new(AlertRule {
        name: "down".into(),
        kind: RuleKind::BreakerOpened,
        target: None,
        route: None,
        count: None,
        rate: None,
        window: None,
        min_requests: None,
        percentile: None,
        threshold: None,
        channels: vec!["slack".into()],
        escalate_to: escalate_to.iter().map(|c| (*c).into()).collect(),
    })
}

fn holds(rule: &Arc<AlertRule>, subject: &str) -> Vec<Condition> {
    vec![Condition {
        rule: Arc::clone(rule),
        subject: subject.into(),
        summary: format!("model {subject}: circuit breaker is open"),
    }]
}

fn sent(notices: &[Notice]) -> Vec<(NoticeKind, String, Vec<&str>)> {
    notices
        .iter()
        .map(|n| {
            (
                n.event,
                n.alert.id.clone(),
                n.channels.iter().map(|c| &**c).collect(),
            )
        })
        .collect()
}

async fn after(secs: u64) -> Instant {
    tokio::time::advance(Duration::from_secs(secs)).await;
    Instant::now()
}

#[tokio::test(start_paused = true)]
async fn fires_once_repeats_on_the_interval_and_resolves() {
    let rule = rule(&[]);
    let mut engine = Engine::new(TIMING);
    let fired = engine.evaluate(Instant::now(), holds(&rule, "m0"));
    assert_eq!(
        sent(&fired),
        [(NoticeKind::Fired, "down/m0".into(), vec!["slack"])]
    );
    assert_eq!(engine.active().len(), 1);
    for _ in 0..5 {
        let now = after(11).await;
        assert!(
            engine.evaluate(now, holds(&rule, "m0")).is_empty(),
            "no escalation channels, no repeat yet"
        );
    }
    let now = after(5).await;
    let repeated = engine.evaluate(now, holds(&rule, "m0"));
    assert_eq!(
        sent(&repeated),
        [(NoticeKind::Repeated, "down/m0".into(), vec!["slack"])]
    );
    let now = after(59).await;
    assert!(engine.evaluate(now, holds(&rule, "m0")).is_empty());
    let now = after(1).await;
    let resolved = engine.evaluate(now, Vec::new());
    assert_eq!(
        sent(&resolved),
        [(NoticeKind::Resolved, "down/m0".into(), vec!["slack"])]
    );
    assert!(engine.active().is_empty());
    assert!(engine.evaluate(after(1000).await, Vec::new()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn escalates_once_after_the_delay_and_resolves_everywhere() {
    let rule = rule(&["email", "slack"]);
    let mut engine = Engine::new(TIMING);
    assert_eq!(engine.evaluate(Instant::now(), holds(&rule, "m0")).len(), 1);
    assert!(
        engine
            .evaluate(after(9).await, holds(&rule, "m0"))
            .is_empty()
    );
    let escalated = engine.evaluate(after(1).await, holds(&rule, "m0"));
    assert_eq!(
        sent(&escalated),
        [(
            NoticeKind::Escalated,
            "down/m0".into(),
            vec!["email", "slack"]
        )]
    );
    assert!(engine.active()[0].escalated);
    assert!(
        engine
            .evaluate(after(10).await, holds(&rule, "m0"))
            .is_empty(),
        "escalates once"
    );
    let repeated = engine.evaluate(after(40).await, holds(&rule, "m0"));
    assert_eq!(
        sent(&repeated),
        [(
            NoticeKind::Repeated,
            "down/m0".into(),
            vec!["slack", "email"]
        )]
    );
    let resolved = engine.evaluate(after(1).await, Vec::new());
    assert_eq!(
        sent(&resolved),
        [(
            NoticeKind::Resolved,
            "down/m0".into(),
            vec!["slack", "email"]
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn subjects_are_separate_alerts_and_a_cleared_one_can_fire_again() {
    let rule = rule(&["email"]);
    let mut engine = Engine::new(TIMING);
    let both = [holds(&rule, "m0"), holds(&rule, "m1")].concat();
    assert_eq!(engine.evaluate(Instant::now(), both.clone()).len(), 2);
    let resolved = engine.evaluate(after(5).await, holds(&rule, "m1"));
    assert_eq!(
        sent(&resolved),
        [(NoticeKind::Resolved, "down/m0".into(), vec!["slack"])]
    );
    let fired = engine.evaluate(after(1).await, both);
    assert_eq!(
        sent(&fired),
        [(NoticeKind::Fired, "down/m0".into(), vec!["slack"])]
    );
    let escalated = engine.evaluate(
        after(4).await,
        [holds(&rule, "m0"), holds(&rule, "m1")].concat(),
    );
    assert_eq!(
        sent(&escalated),
        [(NoticeKind::Escalated, "down/m1".into(), vec!["email"])],
        "m0 fired again 4s ago: its clock restarted"
    );
}
