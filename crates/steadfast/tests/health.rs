//! Public behaviour of health checking: active probes on paused time, passive
//! outlier ejection, events and manual marks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use steadfast::events::{Event, Events};
use steadfast::health::{HealthChecker, HealthState, OutlierConfig, ProbeConfig, Status};
use steadfast::{FailureKind, Outcome};
use tokio::sync::broadcast;
use tokio::time::Instant;

const HOUR: Duration = Duration::from_secs(3600);

/// Lets spawned tasks run until they wait on something.
async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

/// Lets `duration` of paused time pass, firing every timer on the way in order.
async fn pass(duration: Duration) {
    tokio::time::sleep(duration).await;
    settle().await;
}

/// A probe that counts its calls and answers as `healthy` says.
#[derive(Clone, Default)]
struct Switch {
    calls: Arc<AtomicUsize>,
    healthy: Arc<AtomicBool>,
}

impl Switch {
    fn healthy() -> Switch {
        let switch = Switch::default();
        switch.set(true);
        switch
    }

    fn set(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::SeqCst);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn probe(&self) -> impl Fn() -> std::future::Ready<Result<(), String>> + Send + Sync + 'static {
        let switch = self.clone();
        move || {
            switch.calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(if switch.healthy.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err("connection refused".to_owned())
            })
        }
    }
}

/// Probes only when asked.
fn on_demand() -> ProbeConfig {
    ProbeConfig::default().interval(HOUR).initial_delay(HOUR)
}

fn changes(receiver: &mut broadcast::Receiver<Event>) -> Vec<(Status, Status)> {
    let mut seen = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        if let Event::HealthChanged { from, to, .. } = event {
            seen.push((from, to));
        }
    }
    seen
}

fn timeout() -> Outcome {
    Outcome::from(FailureKind::Timeout)
}

#[tokio::test(start_paused = true)]
async fn probes_run_on_the_interval() {
    let checker = HealthChecker::new(Events::none());
    let switch = Switch::healthy();
    let config = ProbeConfig::default().interval(Duration::from_secs(10));
    let state = checker.register("gpt", config, switch.probe());
    settle().await;
    assert_eq!(switch.calls(), 1, "first probe at registration");
    assert_eq!(state.status(), Status::Healthy);

    pass(Duration::from_millis(9_999)).await;
    assert_eq!(switch.calls(), 1);
    pass(Duration::from_millis(1)).await;
    assert_eq!(switch.calls(), 2);
    pass(Duration::from_secs(25)).await;
    assert_eq!(switch.calls(), 4, "probes at 20 s and 30 s");
}

#[tokio::test(start_paused = true)]
async fn initial_delay_postpones_the_first_probe() {
    let checker = HealthChecker::new(Events::none());
    let switch = Switch::healthy();
    let config = ProbeConfig::default()
        .interval(Duration::from_secs(10))
        .initial_delay(Duration::from_secs(3));
    let state = checker.register("gpt", config, switch.probe());
    pass(Duration::from_millis(2_999)).await;
    assert_eq!((switch.calls(), state.status()), (0, Status::Unknown));
    pass(Duration::from_millis(1)).await;
    assert_eq!((switch.calls(), state.status()), (1, Status::Healthy));
    pass(Duration::from_secs(10)).await;
    assert_eq!(switch.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_probe_over_its_timeout_is_a_failure() {
    let checker = HealthChecker::new(Events::none());
    let config = on_demand()
        .timeout(Duration::from_secs(2))
        .unhealthy_after(1);
    let state = checker.register("slow", config, || async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Ok::<(), String>(())
    });
    let start = Instant::now();
    assert_eq!(checker.probe_now("slow").await, Some(Status::Unhealthy));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(state.last_latency(), Some(Duration::from_secs(2)));
    assert_eq!(
        state.last_error().as_deref(),
        Some("probe timed out after 2s")
    );
    assert_eq!(
        state.ewma_latency(),
        None,
        "failures do not feed the average"
    );
}

#[tokio::test(start_paused = true)]
async fn unhealthy_after_n_failures_and_healthy_after_m_successes() {
    let checker = HealthChecker::new(Events::none());
    let switch = Switch::default();
    let config = on_demand().unhealthy_after(3).healthy_after(2);
    let state = checker.register("gpt", config, switch.probe());

    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(checker.probe_now("gpt").await);
    }
    let unknown = Some(Status::Unknown);
    assert_eq!(seen, [unknown, unknown, Some(Status::Unhealthy)]);
    let snapshot = state.snapshot();
    assert_eq!(snapshot.consecutive_failures, 3);
    assert_eq!(snapshot.last_error.as_deref(), Some("connection refused"));
    assert!(!snapshot.available);

    switch.set(true);
    assert_eq!(checker.probe_now("gpt").await, Some(Status::Unhealthy));
    assert_eq!(checker.probe_now("gpt").await, Some(Status::Healthy));
    let snapshot = state.snapshot();
    assert_eq!(
        (
            snapshot.consecutive_successes,
            snapshot.consecutive_failures
        ),
        (2, 0)
    );
    assert_eq!(switch.calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn status_changes_are_published_in_order() {
    let checker = HealthChecker::new(Events::new());
    let mut events = checker.subscribe();
    let switch = Switch::default();
    let state = checker.register("gpt", on_demand().unhealthy_after(1), switch.probe());
    let mut watch = state.watch();

    checker.probe_now("gpt").await;
    switch.set(true);
    checker.probe_now("gpt").await;
    checker.probe_now("gpt").await;
    state.mark_unhealthy("maintenance");
    state.mark_healthy();

    use Status::{Healthy, Unhealthy, Unknown};
    assert_eq!(
        changes(&mut events),
        [
            (Unknown, Unhealthy),
            (Unhealthy, Healthy),
            (Healthy, Unhealthy),
            (Unhealthy, Healthy)
        ]
    );
    assert!(watch.has_changed().unwrap());
    assert_eq!(*watch.borrow_and_update(), Healthy);
}

#[tokio::test(start_paused = true)]
async fn events_name_the_target() {
    let events = Events::new();
    let mut receiver = events.subscribe();
    let state = HealthState::new("claude", events, OutlierConfig::default());
    state.mark_unhealthy("down");
    assert_eq!(
        receiver.try_recv().unwrap(),
        Event::HealthChanged {
            name: "claude".into(),
            from: Status::Unknown,
            to: Status::Unhealthy
        }
    );
    assert_eq!(state.last_error().as_deref(), Some("down"));
}

#[tokio::test(start_paused = true)]
async fn deregister_stops_probing() {
    let checker = HealthChecker::new(Events::none());
    let switch = Switch::healthy();
    let config = ProbeConfig::default().interval(Duration::from_secs(10));
    checker.register("gpt", config, switch.probe());
    settle().await;
    assert_eq!(switch.calls(), 1);

    assert!(checker.deregister("gpt"));
    pass(Duration::from_secs(60)).await;
    assert_eq!(switch.calls(), 1);
    assert_eq!(
        Arc::strong_count(&switch.calls),
        1,
        "the task and its probe are gone"
    );
    assert_eq!(checker.probe_now("gpt").await, None);
    assert!(checker.state("gpt").is_none());
    assert!(!checker.deregister("gpt"));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_checker_stops_its_tasks() {
    let checker = HealthChecker::new(Events::none());
    let switch = Switch::healthy();
    let config = ProbeConfig::default().interval(Duration::from_secs(10));
    checker.register("a", config.clone(), switch.probe());
    checker.register("b", config, switch.probe());
    settle().await;
    assert_eq!(switch.calls(), 2);

    drop(checker);
    pass(Duration::from_secs(60)).await;
    assert_eq!(switch.calls(), 2);
    assert_eq!(Arc::strong_count(&switch.calls), 1);
}

#[tokio::test(start_paused = true)]
async fn registering_a_name_again_replaces_the_target() {
    let checker = HealthChecker::new(Events::none());
    let old = Switch::healthy();
    let new = Switch::healthy();
    let config = ProbeConfig::default().interval(Duration::from_secs(10));
    checker.register("gpt", config.clone(), old.probe());
    checker.register("gpt", config, new.probe());
    pass(Duration::from_secs(15)).await;
    assert_eq!((old.calls(), new.calls()), (0, 2));
    assert_eq!(checker.snapshots().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn probe_now_runs_at_once_and_restarts_the_interval() {
    let checker = HealthChecker::new(Events::none());
    let switch = Switch::healthy();
    let config = ProbeConfig::default()
        .interval(Duration::from_secs(10))
        .initial_delay(HOUR);
    checker.register("gpt", config, switch.probe());
    pass(Duration::from_secs(5)).await;
    assert_eq!(switch.calls(), 0);

    let start = Instant::now();
    assert_eq!(checker.probe_now("gpt").await, Some(Status::Healthy));
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(switch.calls(), 1);
    pass(Duration::from_millis(9_999)).await;
    assert_eq!(switch.calls(), 1);
    pass(Duration::from_millis(1)).await;
    assert_eq!(switch.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn consecutive_live_failures_eject_with_growing_times() {
    let events = Events::new();
    let mut receiver = events.subscribe();
    let outlier = OutlierConfig::default()
        .consecutive_failures(3)
        .base_ejection(Duration::from_secs(10))
        .max_ejection(Duration::from_secs(35))
        .multiplier(2.0);
    let state = HealthState::new("gpt", events, outlier);
    let latency = Duration::from_secs(1);

    for (round, secs) in [10, 20, 35].into_iter().enumerate() {
        state.record(&timeout(), latency);
        state.record(&timeout(), latency);
        assert!(
            state.is_available(),
            "round {round}: two failures do not eject"
        );
        state.record(&timeout(), latency);
        let start = Instant::now();
        let ejection = Duration::from_secs(secs);
        assert_eq!(state.status(), Status::Unhealthy);
        assert_eq!(state.ejected_until(), Some(start + ejection));
        assert_eq!(state.ejections(), round as u32 + 1);

        pass(ejection - Duration::from_millis(1)).await;
        assert!(!state.is_available(), "round {round}: still ejected");
        pass(Duration::from_millis(1)).await;
        assert_eq!(
            state.status(),
            Status::Unknown,
            "round {round}: re-admitted"
        );
        assert_eq!(state.readmitted_at(), Some(start + ejection));
        assert_eq!(state.ejected_until(), None);
    }
    assert_eq!(changes(&mut receiver).len(), 6);

    // In service for a full max_ejection: the next ejection is short again.
    pass(Duration::from_secs(35)).await;
    for _ in 0..3 {
        state.record(&timeout(), latency);
    }
    assert_eq!(
        state.ejected_until(),
        Some(Instant::now() + Duration::from_secs(10))
    );
}

#[tokio::test(start_paused = true)]
async fn readmission_returns_to_the_probed_status() {
    let outlier = OutlierConfig::default().consecutive_failures(1);
    let state = HealthState::new("gpt", Events::none(), outlier);
    state.mark_healthy();
    state.record(&Outcome::from(FailureKind::Overloaded), Duration::ZERO);
    assert_eq!(state.status(), Status::Unhealthy);
    assert!(
        state
            .last_error()
            .is_some_and(|e| e.contains("after 1 consecutive failures (last: overloaded)"))
    );
    pass(Duration::from_secs(30)).await;
    assert_eq!(state.status(), Status::Healthy);
}

#[tokio::test(start_paused = true)]
async fn failures_while_ejected_do_not_extend_it() {
    let outlier = OutlierConfig::default().consecutive_failures(2);
    let state = HealthState::new("gpt", Events::none(), outlier);
    state.record(&timeout(), Duration::ZERO);
    state.record(&timeout(), Duration::ZERO);
    let until = state.ejected_until();
    assert!(until.is_some());
    pass(Duration::from_secs(5)).await;
    for _ in 0..10 {
        state.record(&timeout(), Duration::ZERO);
    }
    assert_eq!(state.ejected_until(), until);
    assert_eq!(state.ejections(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_success_ends_the_failure_streak() {
    let outlier = OutlierConfig::default().consecutive_failures(3);
    let state = HealthState::new("gpt", Events::none(), outlier);
    for _ in 0..5 {
        state.record(&timeout(), Duration::ZERO);
        state.record(&timeout(), Duration::ZERO);
        state.record(&Outcome::Success, Duration::ZERO);
    }
    assert_eq!(state.status(), Status::Unknown);
    assert_eq!(state.ejections(), 0);
}

#[tokio::test(start_paused = true)]
async fn caller_faults_never_eject_nor_break_a_streak() {
    let outlier = OutlierConfig::default().consecutive_failures(3);
    let state = HealthState::new("gpt", Events::none(), outlier);
    for _ in 0..100 {
        state.record(&Outcome::from(FailureKind::ContextLength), Duration::ZERO);
        state.record(&Outcome::from(FailureKind::InvalidRequest), Duration::ZERO);
    }
    assert_eq!(state.status(), Status::Unknown);
    assert_eq!(state.snapshot().consecutive_live_failures, 0);

    state.record(&timeout(), Duration::ZERO);
    state.record(&timeout(), Duration::ZERO);
    state.record(&Outcome::from(FailureKind::ContextLength), Duration::ZERO);
    state.record(&timeout(), Duration::ZERO);
    assert_eq!(state.status(), Status::Unhealthy);
}

#[tokio::test(start_paused = true)]
async fn disabled_outlier_detection_never_ejects() {
    let state = HealthState::new("gpt", Events::none(), OutlierConfig::disabled());
    for _ in 0..1000 {
        state.record(&timeout(), Duration::ZERO);
    }
    assert!(state.is_available());
}

#[tokio::test(start_paused = true)]
async fn mark_healthy_ends_an_ejection() {
    let outlier = OutlierConfig::default().consecutive_failures(1);
    let state = HealthState::new("gpt", Events::none(), outlier);
    state.record(&timeout(), Duration::ZERO);
    assert!(!state.is_available());
    state.mark_healthy();
    assert_eq!(state.status(), Status::Healthy);
    assert_eq!(state.ejected_until(), None);
    assert_eq!(state.last_error(), None);
}

#[tokio::test(start_paused = true)]
async fn latency_average_follows_successes() {
    let state = HealthState::new("gpt", Events::none(), OutlierConfig::default());
    assert_eq!(state.ewma_latency(), None);
    state.record(&Outcome::Success, Duration::from_millis(100));
    assert_eq!(state.ewma_latency(), Some(Duration::from_millis(100)));
    state.record(&Outcome::Success, Duration::from_millis(200));
    let average = state.ewma_latency().unwrap();
    let expected = Duration::from_millis(120);
    assert!(
        average.abs_diff(expected) < Duration::from_micros(1),
        "{average:?}"
    );
    state.record(&timeout(), Duration::from_secs(60));
    assert_eq!(state.ewma_latency(), Some(average));
}

#[tokio::test(start_paused = true)]
async fn snapshots_list_every_target_by_name() {
    let checker = HealthChecker::new(Events::none());
    let switch = Switch::healthy();
    checker.register("b", on_demand(), switch.probe());
    checker.register("a", on_demand(), switch.probe());
    checker.probe_now("a").await;
    let snapshots = checker.snapshots();
    let names: Vec<&str> = snapshots.iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(snapshots[0].status, Status::Healthy);
    assert_eq!(snapshots[0].last_probe_at, Some(Instant::now()));
    assert_eq!(snapshots[1].status, Status::Unknown);
    assert!(snapshots[1].available);
}
