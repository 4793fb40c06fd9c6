//! Public behaviour of the fallback strategies.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast::breaker::Breaker;
use steadfast::budget::Budget;
use steadfast::classify::AsFailure;
use steadfast::events::{Event, Events};
use steadfast::fallback::{
    AttemptInfo, AttemptOutcome, FailoverOn, Guarded, Hedged, LeastLoaded, Parallel, Pick, Quorum,
    QuorumMiss, Sequential, SkipReason, StopReason, Strategy, Target, TargetWeights, Weighted,
};
use steadfast::hedge::HedgeDelay;
use steadfast::rng::Rng;
use steadfast::{Failure, FailureKind, Outcome};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

/// A scripted target: answers after `delay` with `result`, counting calls,
/// start times and cancellations.
struct Model {
    name: Arc<str>,
    up: AtomicBool,
    delay: Duration,
    result: Result<(), FailureKind>,
    calls: AtomicU32,
    starts: Mutex<Vec<Instant>>,
    cancelled: Arc<AtomicBool>,
}

impl Model {
    fn new(name: &str, delay_ms: u64, result: Result<(), FailureKind>) -> Model {
        Model {
            name: name.into(),
            up: AtomicBool::new(true),
            delay: Duration::from_millis(delay_ms),
            result,
            calls: AtomicU32::new(0),
            starts: Mutex::new(Vec::new()),
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    fn ok(name: &str, delay_ms: u64) -> Model {
        Model::new(name, delay_ms, Ok(()))
    }

    fn fail(name: &str, delay_ms: u64, kind: FailureKind) -> Model {
        Model::new(name, delay_ms, Err(kind))
    }

    fn down(self) -> Model {
        self.up.store(false, Ordering::SeqCst);
        self
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    fn was_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// When each call started, after `origin`.
    fn starts(&self, origin: Instant) -> Vec<Duration> {
        let starts = self.starts.lock().unwrap();
        starts.iter().map(|start| *start - origin).collect()
    }
}

impl Target for Model {
    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn is_available(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }
}

/// Sets its flag when dropped before the call finished.
struct CancelGuard {
    flag: Arc<AtomicBool>,
    done: bool,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.done {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
}

/// The call every test makes: answers the target's index, or its failure.
fn call(model: &Model, info: AttemptInfo) -> impl Future<Output = Result<usize, Failure>> + use<> {
    model.calls.fetch_add(1, Ordering::SeqCst);
    model.starts.lock().unwrap().push(Instant::now());
    let guard = CancelGuard {
        flag: model.cancelled.clone(),
        done: false,
    };
    let (delay, result) = (model.delay, model.result);
    async move {
        let mut guard = guard;
        tokio::time::sleep(delay).await;
        guard.done = true;
        result.map(|()| info.index).map_err(Failure::new)
    }
}

fn outcomes(attempts: &[steadfast::fallback::Attempt]) -> Vec<(usize, AttemptOutcome)> {
    attempts.iter().map(|a| (a.index, a.outcome)).collect()
}

fn failed(kind: FailureKind) -> AttemptOutcome {
    AttemptOutcome::Failed(Failure::new(kind))
}

fn drain(receiver: &mut tokio::sync::broadcast::Receiver<Event>) -> Vec<Event> {
    std::iter::from_fn(|| receiver.try_recv().ok()).collect()
}

fn taken(from: &str, to: &str, failure: Option<FailureKind>) -> Event {
    Event::FallbackTaken {
        from: from.into(),
        to: to.into(),
        failure: failure.map(Failure::new),
    }
}

#[tokio::test(start_paused = true)]
async fn sequential_goes_in_order_and_skips_unavailable() {
    let events = Events::new();
    let mut received = events.subscribe();
    let models = [
        Model::ok("a", 5).down(),
        Model::fail("b", 10, FailureKind::Overloaded),
        Model::ok("c", 20),
        Model::ok("d", 1),
    ];
    let infos = Mutex::new(Vec::new());
    let origin = Instant::now();
    let success = Sequential::new()
        .events(events)
        .run(&models, |model, info| {
            infos.lock().unwrap().push(info);
            call(model, info)
        })
        .await
        .unwrap();
    assert_eq!((success.value, success.target_index), (2, 2));
    assert_eq!(origin.elapsed(), 30 * MS);
    assert_eq!(
        models.iter().map(Model::calls).collect::<Vec<_>>(),
        [0, 1, 1, 0]
    );
    assert_eq!(
        *infos.lock().unwrap(),
        [
            AttemptInfo {
                index: 1,
                attempt: 1,
                pass: 0
            },
            AttemptInfo {
                index: 2,
                attempt: 2,
                pass: 0
            }
        ]
    );
    assert_eq!(
        outcomes(&success.attempts),
        [
            (0, AttemptOutcome::Skipped(SkipReason::UNAVAILABLE)),
            (1, failed(FailureKind::Overloaded)),
            (2, AttemptOutcome::Served)
        ]
    );
    let elapsed: Vec<_> = success.attempts.iter().map(|a| a.elapsed).collect();
    assert_eq!(elapsed, [Duration::ZERO, 10 * MS, 20 * MS]);
    assert_eq!(
        drain(&mut received),
        [
            taken("a", "b", None),
            taken("b", "c", Some(FailureKind::Overloaded))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn sequential_stops_at_a_failure_that_does_not_fail_over() {
    let models = [
        Model::fail("a", 1, FailureKind::InvalidRequest),
        Model::ok("b", 1),
    ];
    let failed_run = Sequential::new().run(&models, call).await.unwrap_err();
    assert_eq!(
        failed_run.reason,
        StopReason::NotFailover(Failure::new(FailureKind::InvalidRequest))
    );
    assert_eq!(
        failed_run.last_error,
        Some(Failure::new(FailureKind::InvalidRequest))
    );
    assert_eq!(models[1].calls(), 0);

    // A custom predicate: only overloads move on, so a timeout stops the run.
    let models = [
        Model::fail("a", 1, FailureKind::Overloaded),
        Model::fail("b", 1, FailureKind::Timeout),
        Model::ok("c", 1),
    ];
    let failed_run = Sequential::new()
        .fallback_on(FailoverOn::kinds([FailureKind::Overloaded]))
        .run(&models, call)
        .await
        .unwrap_err();
    assert_eq!(
        failed_run.reason,
        StopReason::NotFailover(Failure::new(FailureKind::Timeout))
    );
    assert_eq!(
        failed_run.failure(),
        Some(Failure::new(FailureKind::Timeout))
    );
    assert_eq!(
        models.iter().map(Model::calls).collect::<Vec<_>>(),
        [1, 1, 0]
    );
}

/// A call's error that says the target was passed over (its queue full, a
/// format it cannot carry).
#[derive(Debug, PartialEq)]
enum Refusal {
    PassedOver,
    Failed(FailureKind),
}

impl AsFailure for Refusal {
    fn as_failure(&self) -> Failure {
        match self {
            Refusal::PassedOver => Failure::new(FailureKind::Overloaded),
            Refusal::Failed(kind) => Failure::new(*kind),
        }
    }

    fn passed_over(&self) -> Option<SkipReason> {
        (*self == Refusal::PassedOver).then_some(SkipReason::BUSY)
    }
}

/// A target whose call says it was passed over is a skip: the run moves on
/// even when `fallback_on` would stop at the failure kind it names, for
/// every strategy.
#[tokio::test(start_paused = true)]
async fn a_target_passed_over_at_the_call_is_skipped_whatever_fallback_on_says() {
    let models = [Model::ok("a", 1), Model::ok("b", 2)];
    let only_rate_limits = || FailoverOn::kinds([FailureKind::RateLimited]);
    let passed_over_first = |_: &Model, info: AttemptInfo| async move {
        if info.index == 0 {
            Err(Refusal::PassedOver)
        } else {
            Ok(info.index)
        }
    };
    let strategies: Vec<(&str, Strategy)> = vec![
        (
            "sequential",
            Sequential::new().fallback_on(only_rate_limits()).into(),
        ),
        (
            "parallel",
            Parallel::new().fallback_on(only_rate_limits()).into(),
        ),
        (
            "hedged",
            Hedged::new(HedgeDelay::Fixed(Duration::from_secs(1)))
                .fallback_on(only_rate_limits())
                .into(),
        ),
    ];
    for (name, strategy) in strategies {
        let served = strategy.run(&models, passed_over_first).await.unwrap();
        assert_eq!(served.value, 1, "{name}");
        assert_eq!(
            outcomes(&served.attempts),
            [
                (0, AttemptOutcome::Skipped(SkipReason::BUSY)),
                (1, AttemptOutcome::Served)
            ],
            "{name}"
        );
    }
    // A failure of a kind not fallen back on still stops the run.
    let stopped = Sequential::new()
        .fallback_on(only_rate_limits())
        .run(&models, |_: &Model, _| async {
            Err::<usize, _>(Refusal::Failed(FailureKind::Overloaded))
        })
        .await
        .unwrap_err();
    assert_eq!(
        stopped.reason,
        StopReason::NotFailover(Failure::new(FailureKind::Overloaded))
    );
}

/// A local rejection at the call (a breaker that opened after the
/// strategy looked) is a skip too: nothing reached the target.
#[tokio::test(start_paused = true)]
async fn a_local_rejection_at_the_call_is_a_skip() {
    let breaker = Breaker::builder("first").build();
    let models = [
        Guarded::new(1, breaker.clone()),
        Guarded::new(2, Breaker::builder("second").build()),
    ];
    let served = Sequential::new()
        .fallback_on(FailoverOn::kinds([FailureKind::RateLimited]))
        .run(&models, |model, info| {
            if info.index == 0 {
                breaker.trip(); // opens between the look and the call
            }
            model.call(|value| async move { Ok::<_, std::io::Error>(value) })
        })
        .await
        .unwrap();
    assert_eq!(served.value, 2);
    assert_eq!(
        outcomes(&served.attempts),
        [
            (0, AttemptOutcome::Skipped(SkipReason::BREAKER_OPEN)),
            (1, AttemptOutcome::Served)
        ]
    );
}

/// Least loaded: calls in flight spread over equivalent targets (power of
/// two choices on in flight × latency), never more than one apart.
#[tokio::test(start_paused = true)]
async fn least_loaded_spreads_calls_in_flight() {
    let keys: Vec<Arc<str>> = ["a", "b", "c"].into_iter().map(Arc::from).collect();
    let balance = LeastLoaded::new(keys.len()).rng(Rng::with_seed(7));
    let runs: Vec<_> = (0..9)
        .map(|_| {
            let (balance, keys) = (balance.clone(), keys.clone());
            tokio::spawn(async move {
                balance
                    .run(&keys, |_, info| async move {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        Ok::<_, Failure>(info.index)
                    })
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let in_flight: Vec<usize> = balance
        .loads()
        .snapshot()
        .iter()
        .map(|l| l.in_flight)
        .collect();
    assert_eq!(in_flight.iter().sum::<usize>(), 9);
    let (most, least) = (
        in_flight.iter().max().unwrap(),
        in_flight.iter().min().unwrap(),
    );
    assert!(most - least <= 1, "{in_flight:?}");
    for run in runs {
        run.await.unwrap().unwrap();
    }
    assert!(balance.loads().snapshot().iter().all(|l| l.in_flight == 0));
}

/// Least loaded moves away from a target that slows down (its latency
/// peak counts at once) and returns once it is fast again.
#[tokio::test(start_paused = true)]
async fn least_loaded_moves_away_from_a_slowing_target() {
    let keys: Vec<Arc<str>> = ["a", "b"].into_iter().map(Arc::from).collect();
    let balance = LeastLoaded::new(2)
        .rng(Rng::with_seed(3))
        .decay(Duration::from_secs(1));
    let latency = Arc::new(Mutex::new([10u64, 50]));
    let ask = |balance: LeastLoaded| {
        let (keys, latency) = (keys.clone(), Arc::clone(&latency));
        async move {
            balance
                .run(&keys, |_, info| {
                    let ms = latency.lock().unwrap()[info.index];
                    async move {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        Ok::<_, Failure>(info.index)
                    }
                })
                .await
                .unwrap()
                .value
        }
    };
    // Both measured, then the faster one gets every call.
    let mut picks = Vec::new();
    for _ in 0..6 {
        picks.push(ask(balance.clone()).await);
    }
    assert_eq!(&picks[2..], [0, 0, 0, 0], "{picks:?}");
    latency.lock().unwrap()[0] = 500;
    assert_eq!(ask(balance.clone()).await, 0, "not known to be slow yet");
    assert_eq!(
        ask(balance.clone()).await,
        1,
        "its slow call counts at once"
    );
}

#[tokio::test(start_paused = true)]
async fn sequential_reports_why_nothing_answered() {
    let none: [Model; 0] = [];
    let run = Sequential::new().run(&none, call).await.unwrap_err();
    assert_eq!(run.reason, StopReason::NoTargets);

    let down = [Model::ok("a", 1).down(), Model::ok("b", 1).down()];
    let run = Sequential::new().run(&down, call).await.unwrap_err();
    assert_eq!(
        (run.reason, run.attempts.len()),
        (StopReason::NoneAvailable, 2)
    );
    assert_eq!(down[0].calls() + down[1].calls(), 0);

    let failing = [
        Model::fail("a", 1, FailureKind::Transient),
        Model::fail("b", 1, FailureKind::RateLimited),
    ];
    let run = Sequential::new().run(&failing, call).await.unwrap_err();
    assert_eq!(run.reason, StopReason::Exhausted);
    assert_eq!(run.last_error, Some(Failure::new(FailureKind::RateLimited)));
    assert_eq!(run.to_string(), "all 2 targets failed: rate_limited");
}

#[tokio::test(start_paused = true)]
async fn parallel_first_success_wins_and_losers_are_dropped() {
    let models = [
        Model::ok("slow", 100),
        Model::ok("down", 1).down(),
        Model::ok("fast", 30),
        Model::fail("broken", 10, FailureKind::Transient),
    ];
    let origin = Instant::now();
    let success = Parallel::new().run(&models, call).await.unwrap();
    assert_eq!(success.value, 2);
    assert_eq!(origin.elapsed(), 30 * MS);
    assert!(models[0].was_cancelled(), "the slow loser was not dropped");
    assert!(!models[2].was_cancelled());
    assert_eq!(
        models.iter().map(Model::calls).collect::<Vec<_>>(),
        [1, 0, 1, 1]
    );
    assert_eq!(
        outcomes(&success.attempts),
        [
            (1, AttemptOutcome::Skipped(SkipReason::UNAVAILABLE)),
            (3, failed(FailureKind::Transient)),
            (2, AttemptOutcome::Served),
            (0, AttemptOutcome::Cancelled)
        ]
    );
    assert_eq!(success.attempts[3].elapsed, 30 * MS);
    for model in &models {
        assert!(model.starts(origin).iter().all(|start| start.is_zero()));
    }
}

#[tokio::test(start_paused = true)]
async fn parallel_fans_out_to_the_first_available_and_reports_every_failure() {
    let models = [
        Model::ok("a", 1).down(),
        Model::fail("b", 5, FailureKind::Timeout),
        Model::fail("c", 7, FailureKind::Overloaded),
        Model::ok("d", 1),
    ];
    let run = Parallel::new()
        .fan_out(2)
        .run(&models, call)
        .await
        .unwrap_err();
    assert_eq!(run.reason, StopReason::Exhausted);
    assert_eq!(
        outcomes(&run.attempts),
        [
            (0, AttemptOutcome::Skipped(SkipReason::UNAVAILABLE)),
            (1, failed(FailureKind::Timeout)),
            (2, failed(FailureKind::Overloaded))
        ]
    );
    assert_eq!(models[3].calls(), 0);

    let models = [
        Model::fail("a", 5, FailureKind::InvalidRequest),
        Model::ok("b", 50),
    ];
    let run = Parallel::new().run(&models, call).await.unwrap_err();
    assert!(matches!(run.reason, StopReason::NotFailover(_)));
    assert!(models[1].was_cancelled());
}

#[tokio::test(start_paused = true)]
async fn hedged_starts_the_next_target_exactly_after_the_delay() {
    let events = Events::new();
    let mut received = events.subscribe();
    let models = [
        Model::ok("a", 500),
        Model::ok("b", 50).down(),
        Model::ok("c", 50),
    ];
    let origin = Instant::now();
    let success = Hedged::new(HedgeDelay::Fixed(100 * MS))
        .name("chat")
        .events(events)
        .run(&models, call)
        .await
        .unwrap();
    assert_eq!(success.value, 2);
    assert_eq!(origin.elapsed(), 150 * MS);
    assert_eq!(models[2].starts(origin), [100 * MS]);
    assert_eq!(models[1].calls(), 0);
    assert!(models[0].was_cancelled());
    assert_eq!(
        drain(&mut received),
        [
            taken("b", "c", None),
            Event::HedgeStarted {
                name: "chat".into(),
                attempt: 2,
                after: 100 * MS
            }
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn hedged_fails_over_at_once_without_waiting_for_the_delay() {
    let models = [
        Model::fail("a", 20, FailureKind::Overloaded),
        Model::ok("b", 300),
        Model::ok("c", 10),
    ];
    let origin = Instant::now();
    let success = Hedged::new(HedgeDelay::Fixed(100 * MS))
        .run(&models, call)
        .await
        .unwrap();
    // b starts at 20 ms (the failure), c one delay later at 120 ms.
    assert_eq!(models[1].starts(origin), [20 * MS]);
    assert_eq!(models[2].starts(origin), [120 * MS]);
    assert_eq!((success.value, origin.elapsed()), (2, 130 * MS));
    assert!(models[1].was_cancelled());
}

#[tokio::test(start_paused = true)]
async fn hedged_extra_calls_are_capped_by_the_budget() {
    // Half an extra call per run: the first run may not hedge, the second may.
    let budget = Budget::new(0.5, 0.0, Duration::from_secs(60));
    let hedged = Hedged::new(HedgeDelay::Fixed(50 * MS)).budget(budget);
    let mut hedges = Vec::new();
    for _ in 0..4 {
        let models = [Model::ok("a", 200), Model::ok("b", 10)];
        let origin = Instant::now();
        let success = hedged.run(&models, call).await.unwrap();
        hedges.push((models[1].calls(), success.value, origin.elapsed()));
    }
    assert_eq!(
        hedges,
        [
            (0, 0, 200 * MS),
            (1, 1, 60 * MS),
            (0, 0, 200 * MS),
            (1, 1, 60 * MS)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn hedged_percentile_delay_follows_recorded_latencies() {
    let hedged = Hedged::new(HedgeDelay::Percentile {
        q: 0.5,
        fallback: Duration::from_secs(1),
    });
    assert_eq!(hedged.current_delay(), Duration::from_secs(1));
    for _ in 0..10 {
        let models = [Model::ok("a", 20)];
        hedged.run(&models, call).await.unwrap();
    }
    let delay = hedged.current_delay();
    assert!(delay > 19 * MS && delay < 21 * MS, "{delay:?}");
}

/// How often each target comes first in `picks` orders, as fractions.
fn first_shares(weighted: &Weighted, targets: &[Model], picks: u32) -> Vec<f64> {
    let mut counts = vec![0u32; targets.len()];
    for _ in 0..picks {
        counts[weighted.order(targets)[0]] += 1;
    }
    counts
        .into_iter()
        .map(|count| f64::from(count) / f64::from(picks))
        .collect()
}

fn assert_shares(shares: &[f64], expected: &[f64], tolerance: f64) {
    for (share, expected) in shares.iter().zip(expected) {
        assert!(
            (share - expected).abs() < tolerance,
            "shares {shares:?}, expected {expected:?}"
        );
    }
}

fn three_models() -> [Model; 3] {
    [Model::ok("a", 1), Model::ok("b", 1), Model::ok("c", 1)]
}

#[tokio::test(start_paused = true)]
async fn weighted_shares_follow_the_weights() {
    let weights = Arc::new(TargetWeights::new([1.0, 2.0, 1.0]));
    let weighted = Weighted::new(weights).rng(Rng::with_seed(7));
    let models = three_models();
    let shares = first_shares(&weighted, &models, 10_000);
    assert_shares(&shares, &[0.25, 0.5, 0.25], 0.02);

    // The rest follow in descending weight; an unavailable target weighs 0.
    models[1].up.store(false, Ordering::SeqCst);
    let shares = first_shares(&weighted, &models, 10_000);
    assert_shares(&shares, &[0.5, 0.0, 0.5], 0.02);
    let order = weighted.order(&models);
    assert_eq!(order[2], 1);
}

#[tokio::test(start_paused = true)]
async fn weighted_degraded_targets_lose_their_share() {
    let weights = Arc::new(TargetWeights::new([1.0, 1.0, 1.0]));
    let weighted = Weighted::new(weights.clone()).rng(Rng::with_seed(11));
    for _ in 0..50 {
        weights.record(0, Outcome::Success, 50 * MS);
        weights.record(1, FailureKind::Timeout.into(), Duration::from_secs(1));
        weights.record(2, Outcome::Success, 500 * MS);
    }
    let snapshot = weights.weights();
    assert!(snapshot[1].success_rate < 0.01, "{snapshot:?}");
    assert_eq!(snapshot[2].latency, Some(500 * MS));
    assert!((snapshot[2].latency_score - 0.1).abs() < 1e-9);
    let shares = first_shares(&weighted, &three_models(), 10_000);
    // Weights 1, ~0.005 and 0.1.
    assert_shares(&shares, &[0.9, 0.005, 0.09], 0.02);
}

#[tokio::test(start_paused = true)]
async fn weighted_readmitted_target_ramps_back_gradually() {
    let weights =
        Arc::new(TargetWeights::new([1.0, 1.0, 1.0]).with_slow_start(Duration::from_secs(40)));
    let weighted = Weighted::new(weights.clone()).rng(Rng::with_seed(3));
    let models = three_models();
    for _ in 0..50 {
        weights.record(2, FailureKind::Overloaded.into(), Duration::ZERO);
    }
    assert!(first_shares(&weighted, &models, 10_000)[2] < 0.01);

    weights.readmitted(2);
    let mut shares = Vec::new();
    for ramp in [0.1, 0.25, 0.5, 0.75, 1.0] {
        let share = first_shares(&weighted, &models, 10_000)[2];
        assert!(
            (share - ramp / (2.0 + ramp)).abs() < 0.02,
            "ramp {ramp}: {share}"
        );
        shares.push(share);
        tokio::time::advance(Duration::from_secs(10)).await;
    }
    assert!(
        shares.windows(2).all(|pair| pair[0] < pair[1]),
        "{shares:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn weighted_power_of_two_choices_never_picks_the_lightest() {
    let weights = Arc::new(TargetWeights::new([3.0, 1.0, 2.0]));
    let weighted = Weighted::new(weights)
        .pick(Pick::PowerOfTwoChoices)
        .rng(Rng::with_seed(5));
    let models = three_models();
    let shares = first_shares(&weighted, &models, 3_000);
    assert_eq!(shares[1], 0.0);
    // Pairs {a,b} {a,c} {b,c} are equally likely: a wins two, c one.
    assert_shares(&shares, &[2.0 / 3.0, 0.0, 1.0 / 3.0], 0.03);
}

#[tokio::test(start_paused = true)]
async fn weighted_run_fails_over_by_weight_and_records_outcomes() {
    let weights = Arc::new(TargetWeights::new([0.0, 1.0, 5.0, 2.0]).with_alpha(0.5));
    let weighted = Weighted::new(weights.clone()).rng(Rng::with_seed(1));
    let models = [
        Model::ok("a", 1),
        Model::ok("b", 1),
        Model::fail("c", 1, FailureKind::Overloaded),
        Model::ok("d", 1).down(),
    ];
    // b or c first (a weighs 0, d is down), then the rest by descending weight.
    let mut seen = [0; 2];
    for _ in 0..100 {
        match weighted.order(&models)[..] {
            [2, 1, 0, 3] => seen[0] += 1,
            [1, 2, 0, 3] => seen[1] += 1,
            ref other => panic!("unexpected order {other:?}"),
        }
    }
    assert!(seen[0] > 70 && seen[1] > 5, "{seen:?}");
    let success = loop {
        let success = weighted.run(&models, call).await.unwrap();
        if success.attempts.len() == 2 {
            break success;
        }
    };
    // c failed, d is down and never called, b served.
    assert_eq!(
        outcomes(&success.attempts),
        [
            (2, failed(FailureKind::Overloaded)),
            (1, AttemptOutcome::Served)
        ]
    );
    assert_eq!(success.value, 1);
    assert_eq!(models[3].calls(), 0);
    let recorded = weights.weights()[2].success_rate;
    assert!(recorded <= 0.5, "{recorded}");

    let strategy = Strategy::from(weighted.record_outcomes(false));
    for _ in 0..20 {
        assert_eq!(strategy.run(&models, call).await.unwrap().value, 1);
    }
    assert_eq!(weights.weights()[2].success_rate, recorded);
}

#[tokio::test(start_paused = true)]
async fn quorum_returns_k_answers_and_cancels_the_rest() {
    let models = [
        Model::ok("a", 40),
        Model::ok("down", 1).down(),
        Model::ok("b", 10),
        Model::fail("c", 5, FailureKind::Transient),
        Model::ok("d", 20),
    ];
    let origin = Instant::now();
    let quorum = Quorum::new(2).run(&models, call).await.unwrap();
    assert_eq!(origin.elapsed(), 20 * MS);
    assert_eq!(quorum.values, [(2, 2), (4, 4)]);
    assert!(models[0].was_cancelled());
    assert_eq!(models[1].calls(), 0);
    assert_eq!(
        outcomes(&quorum.attempts),
        [
            (1, AttemptOutcome::Skipped(SkipReason::UNAVAILABLE)),
            (3, failed(FailureKind::Transient)),
            (2, AttemptOutcome::Served),
            (4, AttemptOutcome::Served),
            (0, AttemptOutcome::Cancelled)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn quorum_fails_as_soon_as_it_cannot_be_reached() {
    let models = [
        Model::fail("a", 10, FailureKind::Transient),
        Model::fail("b", 20, FailureKind::Timeout),
        Model::ok("c", 100),
    ];
    let origin = Instant::now();
    let missed = Quorum::new(2).run(&models, call).await.unwrap_err();
    assert_eq!(origin.elapsed(), 20 * MS);
    assert_eq!((missed.needed, missed.got), (2, 0));
    assert_eq!(missed.reason, QuorumMiss::Unreachable);
    assert!(models[2].was_cancelled());
    assert_eq!(missed.to_string(), "quorum unreachable: 0 of 2 answers");

    // Fewer available targets than needed: no call at all.
    let models = [Model::ok("a", 1), Model::ok("b", 1).down()];
    let missed = Quorum::new(2).run(&models, call).await.unwrap_err();
    assert_eq!(missed.reason, QuorumMiss::Unreachable);
    assert_eq!(models[0].calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn quorum_fails_at_the_deadline() {
    let models = [Model::ok("a", 10), Model::ok("b", 500), Model::ok("c", 600)];
    let origin = Instant::now();
    let missed = Quorum::new(2)
        .fan_out(2)
        .deadline(100 * MS)
        .run(&models, call)
        .await
        .unwrap_err();
    assert_eq!(origin.elapsed(), 100 * MS);
    assert_eq!((missed.got, missed.reason), (1, QuorumMiss::Deadline));
    assert!(models[1].was_cancelled());
    assert_eq!(models[2].calls(), 0);
}

#[test]
fn runs_are_send_when_their_parts_are() {
    fn assert_send<F: Future + Send>(_: F) {}
    let models = three_models();
    let hedged = Hedged::new(HedgeDelay::Fixed(MS));
    assert_send(Strategy::from(Sequential::new()).run(&models, call));
    assert_send(Strategy::from(Parallel::new()).run(&models, call));
    assert_send(hedged.run(&models, call));
    assert_send(Quorum::new(1).run(&models, call));
}
