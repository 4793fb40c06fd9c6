//! Runs within a scope (deadline, targets considered) and retry passes over a
//! strategy, on a paused clock.

#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast::budget::Budget;
use steadfast::classify::AsFailure;
use steadfast::events::{Event, Events};
use steadfast::fallback::{
    Attempt, AttemptInfo, AttemptOutcome, FailoverOn, Fallback, Parallel, Quorum, QuorumMiss,
    Scope, Sequential, SkipReason, StopReason, Target,
};
use steadfast::retry::{Backoff, RetryPolicy};
use steadfast::{Failure, FailureKind};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

/// What one call of a scripted target does.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Answer,
    Fail(Failure),
    /// Passed over at the call: its queue is full.
    Full,
}

/// The call's error: a failure, or the target passed over.
#[derive(Debug)]
struct Refused(Option<Failure>);

impl AsFailure for Refused {
    fn as_failure(&self) -> Failure {
        self.0.unwrap_or(Failure::new(FailureKind::Overloaded))
    }

    fn passed_over(&self) -> Option<SkipReason> {
        self.0.is_none().then_some(SkipReason::BUSY)
    }
}

/// A target replying from a script after a delay each; the last reply repeats.
struct Scripted {
    name: Arc<str>,
    delay: Duration,
    script: Mutex<VecDeque<Reply>>,
    calls: AtomicU32,
}

impl Scripted {
    fn new(name: &str, delay_ms: u64, script: &[Reply]) -> Scripted {
        Scripted {
            name: name.into(),
            delay: Duration::from_millis(delay_ms),
            script: Mutex::new(script.iter().copied().collect()),
            calls: AtomicU32::new(0),
        }
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Target for Scripted {
    fn name(&self) -> &Arc<str> {
        &self.name
    }
}

fn call(
    target: &Scripted,
    info: AttemptInfo,
) -> impl Future<Output = Result<usize, Refused>> + use<> {
    target.calls.fetch_add(1, Ordering::SeqCst);
    let reply = {
        let mut script = target.script.lock().unwrap();
        match script.len() {
            0 => Reply::Answer,
            1 => script[0],
            _ => script.pop_front().unwrap(),
        }
    };
    let delay = target.delay;
    async move {
        tokio::time::sleep(delay).await;
        match reply {
            Reply::Answer => Ok(info.index),
            Reply::Fail(failure) => Err(Refused(Some(failure))),
            Reply::Full => Err(Refused(None)),
        }
    }
}

fn fail(kind: FailureKind) -> Reply {
    Reply::Fail(Failure::new(kind))
}

fn failed(kind: FailureKind) -> AttemptOutcome {
    AttemptOutcome::Failed(Failure::new(kind))
}

fn outcomes(attempts: &[Attempt]) -> Vec<(usize, AttemptOutcome)> {
    attempts.iter().map(|a| (a.index, a.outcome)).collect()
}

fn retry(max_attempts: u32, backoff_ms: u64) -> RetryPolicy {
    RetryPolicy::builder()
        .name("route")
        .max_attempts(max_attempts)
        .backoff(Backoff::constant(Duration::from_millis(backoff_ms)))
        .build()
}

/// The deadline cuts a run: the call still running is a timeout, and a
/// target that had already failed keeps its own failure (not a timeout).
#[tokio::test(start_paused = true)]
async fn a_deadline_times_out_the_calls_in_flight_and_keeps_those_that_ended() {
    let targets = [
        Scripted::new("fails-fast", 5, &[fail(FailureKind::Transient)]),
        Scripted::new("slow", 500, &[Reply::Answer]),
    ];
    for strategy in [
        steadfast::fallback::Strategy::from(Sequential::new()),
        Parallel::new().into(),
    ] {
        let origin = Instant::now();
        let scope = Scope::all().until(origin + 100 * MS);
        let run = strategy.run_in(scope, &targets, call).await.unwrap_err();
        assert_eq!(run.reason, StopReason::TimedOut, "{strategy:?}");
        assert_eq!(
            outcomes(&run.attempts),
            [
                (0, failed(FailureKind::Transient)),
                (1, failed(FailureKind::Timeout))
            ],
            "{strategy:?}"
        );
        assert!(run.last_error.is_some());
        assert_eq!(origin.elapsed(), 100 * MS);
    }
}

/// A quorum's deadline is the earlier of its own and the scope's; calls in
/// flight then are timeouts.
#[tokio::test(start_paused = true)]
async fn a_quorum_within_a_scope_times_out_at_the_earlier_deadline() {
    let targets = [
        Scripted::new("a", 10, &[Reply::Answer]),
        Scripted::new("b", 500, &[Reply::Answer]),
    ];
    let origin = Instant::now();
    let quorum = Quorum::new(2).deadline(Duration::from_secs(10));
    let scope = Scope::all().until(origin + 50 * MS);
    let missed = quorum.run_in(scope, &targets, call).await.unwrap_err();
    assert_eq!(missed.reason, QuorumMiss::Deadline);
    assert_eq!(missed.got, 1);
    assert_eq!(
        outcomes(&missed.attempts),
        [
            (0, AttemptOutcome::Served),
            (1, failed(FailureKind::Timeout))
        ]
    );
    assert_eq!(origin.elapsed(), 50 * MS);
}

/// A target out of scope is neither called nor recorded nor announced.
#[tokio::test(start_paused = true)]
async fn a_target_out_of_scope_is_passed_over_silently() {
    let targets = [
        Scripted::new("a", 1, &[fail(FailureKind::Overloaded)]),
        Scripted::new("excluded", 1, &[Reply::Answer]),
        Scripted::new("c", 1, &[Reply::Answer]),
    ];
    let events = Events::new();
    let mut seen = events.subscribe();
    let only = [true, false, true];
    let served = Sequential::new()
        .events(events.clone())
        .run_in(Scope::all().only(&only), &targets, call)
        .await
        .unwrap();
    assert_eq!(served.value, 2);
    assert_eq!(targets[1].calls(), 0);
    assert_eq!(
        outcomes(&served.attempts),
        [
            (0, failed(FailureKind::Overloaded)),
            (2, AttemptOutcome::Served)
        ]
    );
    let Ok(Event::FallbackTaken { from, to, .. }) = seen.try_recv() else {
        panic!("no fallback event");
    };
    assert_eq!((&*from, &*to), ("a", "c"));
    assert!(seen.try_recv().is_err());
}

/// A target unavailable before the call is recorded with its own reason.
#[tokio::test(start_paused = true)]
async fn an_unavailable_target_is_skipped_with_its_reason() {
    struct Cooling(Arc<str>);
    impl Target for Cooling {
        fn name(&self) -> &Arc<str> {
            &self.0
        }
        fn is_available(&self) -> bool {
            false
        }
        fn skip_reason(&self) -> SkipReason {
            SkipReason::new("cooling_down")
        }
    }
    let targets = [Cooling("a".into())];
    let run = Sequential::new()
        .run(&targets, |_, _| async { Ok::<_, Failure>(()) })
        .await
        .unwrap_err();
    assert_eq!(run.reason, StopReason::NoneAvailable);
    assert_eq!(
        run.attempts[0].outcome,
        AttemptOutcome::Skipped(SkipReason::new("cooling_down"))
    );
}

/// A later pass, after the backoff, calls only the targets whose failure
/// the policy retries; the report holds every pass's attempts in order.
#[tokio::test(start_paused = true)]
async fn a_later_pass_calls_only_the_targets_whose_failure_is_retried() {
    let targets = [
        Scripted::new("fatal", 1, &[fail(FailureKind::Fatal)]),
        Scripted::new("flaky", 1, &[fail(FailureKind::Transient), Reply::Answer]),
    ];
    let events = Events::new();
    let mut seen = events.subscribe();
    let policy = RetryPolicy::builder()
        .name("route")
        .max_attempts(3)
        .backoff(Backoff::constant(40 * MS))
        .events(events)
        .build();
    let origin = Instant::now();
    let served = policy
        .passes(&Sequential::new(), Scope::all(), &targets, call)
        .await
        .unwrap();
    assert_eq!(served.value, 1);
    assert_eq!(targets[0].calls(), 1, "a fatal failure is not retried");
    assert_eq!(origin.elapsed(), 2 * MS + 40 * MS + MS);
    assert_eq!(
        outcomes(&served.attempts),
        [
            (0, failed(FailureKind::Fatal)),
            (1, failed(FailureKind::Transient)),
            (1, AttemptOutcome::Served)
        ]
    );
    let scheduled: Vec<Event> = std::iter::from_fn(|| seen.try_recv().ok())
        .filter(|event| matches!(event, Event::RetryScheduled { .. }))
        .collect();
    assert_eq!(scheduled.len(), 1, "one target waits for the second pass");
    assert_eq!(policy.stats().succeeded_after_retry, 1);
}

/// Every target is called at most `max_attempts` times over all passes,
/// and the passes end with the last failure once none is left.
#[tokio::test(start_paused = true)]
async fn passes_stop_at_max_attempts_per_target() {
    let targets = [
        Scripted::new("a", 1, &[fail(FailureKind::Overloaded)]),
        Scripted::new("b", 1, &[fail(FailureKind::RateLimited)]),
    ];
    let run = retry(3, 10)
        .passes(&Sequential::new(), Scope::all(), &targets, call)
        .await
        .unwrap_err();
    assert_eq!(run.reason, StopReason::Exhausted);
    assert_eq!((targets[0].calls(), targets[1].calls()), (3, 3));
    assert_eq!(run.attempts.len(), 6);
    assert_eq!(
        run.last_error.map(|e| e.as_failure().kind),
        Some(FailureKind::RateLimited)
    );
}

/// A target whose queue was full is tried again in the next pass, though it
/// did not fail; one passed over for good (or out of scope) is not.
#[tokio::test(start_paused = true)]
async fn a_full_target_gets_another_turn_in_the_next_pass() {
    let targets = [
        Scripted::new("full", 1, &[Reply::Full, Reply::Answer]),
        Scripted::new("down", 1, &[fail(FailureKind::Overloaded)]),
        Scripted::new("excluded", 1, &[Reply::Answer]),
    ];
    let only_rate_limits = FailoverOn::kinds([FailureKind::RateLimited]);
    let served = retry(2, 10)
        .passes(
            &Sequential::new().fallback_on(only_rate_limits),
            Scope::all().only(&[true, true, false]),
            &targets,
            call,
        )
        .await;
    // The full first target is skipped even though only rate limits fall
    // back; the second's overload is not fallen back on and ends the run.
    let run = served.unwrap_err();
    assert_eq!(
        run.reason,
        StopReason::NotFailover(Failure::new(FailureKind::Overloaded))
    );
    assert_eq!(
        outcomes(&run.attempts),
        [
            (0, AttemptOutcome::Skipped(SkipReason::BUSY)),
            (1, failed(FailureKind::Overloaded))
        ]
    );
    let targets = [
        Scripted::new("full", 1, &[Reply::Full, Reply::Answer]),
        Scripted::new("down", 1, &[fail(FailureKind::Fatal)]),
    ];
    let served = retry(2, 10)
        .passes(&Sequential::new(), Scope::all(), &targets, call)
        .await
        .unwrap();
    assert_eq!(served.value, 0);
    assert_eq!(
        outcomes(&served.attempts),
        [
            (0, AttemptOutcome::Skipped(SkipReason::BUSY)),
            (1, failed(FailureKind::Fatal)),
            (0, AttemptOutcome::Served)
        ]
    );
    assert_eq!(targets[1].calls(), 1);
}

/// The wait before a pass is the backoff, or until the first of its
/// targets' retry-after is over; a retry-after past `max_retry_after`
/// leaves its target out.
#[tokio::test(start_paused = true)]
async fn the_wait_before_a_pass_honours_retry_after() {
    let after = |kind, secs| {
        Reply::Fail(Failure::with_retry_after(
            kind,
            Some(Duration::from_secs(secs)),
        ))
    };
    let targets = [
        Scripted::new(
            "later",
            0,
            &[after(FailureKind::RateLimited, 2), Reply::Answer],
        ),
        Scripted::new(
            "much-later",
            0,
            &[after(FailureKind::RateLimited, 3), Reply::Answer],
        ),
        Scripted::new(
            "too-late",
            0,
            &[after(FailureKind::RateLimited, 60), Reply::Answer],
        ),
    ];
    let policy = RetryPolicy::builder()
        .max_attempts(2)
        .backoff(Backoff::constant(10 * MS))
        .max_retry_after(Duration::from_secs(5))
        .build();
    let origin = Instant::now();
    let served = policy
        .passes(&Sequential::new(), Scope::all(), &targets, call)
        .await
        .unwrap();
    assert_eq!(origin.elapsed(), Duration::from_secs(2));
    assert_eq!(served.value, 0);
    assert_eq!(targets[2].calls(), 1);
}

/// No pass starts that the deadline would cut; one running when it passes
/// ends with its calls in flight timed out, the earlier passes kept.
#[tokio::test(start_paused = true)]
async fn the_deadline_bounds_every_pass() {
    let targets = [Scripted::new(
        "a",
        30,
        &[fail(FailureKind::Transient), fail(FailureKind::Transient)],
    )];
    let within_150ms = |backoff_ms| {
        let targets = &targets;
        async move {
            let origin = Instant::now();
            let scope = Scope::all().until(origin + 150 * MS);
            let (policy, strategy) = (retry(5, backoff_ms), Sequential::new());
            let passes = policy.passes(&strategy, scope, targets, call).await;
            (passes.unwrap_err(), origin.elapsed())
        }
    };
    let (run, elapsed) = within_150ms(100).await;
    assert_eq!(run.reason, StopReason::TimedOut);
    assert_eq!(
        outcomes(&run.attempts),
        [
            (0, failed(FailureKind::Transient)),
            (0, failed(FailureKind::Timeout))
        ]
    );
    assert_eq!(elapsed, 150 * MS);
    let (run, elapsed) = within_150ms(200).await;
    assert_eq!(
        run.reason,
        StopReason::Exhausted,
        "no pass past the deadline"
    );
    assert_eq!(elapsed, 30 * MS);
}

/// Each later pass takes a retry from the budget; an empty one ends the
/// passes and says so.
#[tokio::test(start_paused = true)]
async fn an_empty_budget_ends_the_passes() {
    let targets = [Scripted::new("a", 1, &[fail(FailureKind::Overloaded)])];
    let events = Events::new();
    let mut seen = events.subscribe();
    let budget = Budget::new(0.0, 0.0, Duration::from_secs(10));
    let policy = RetryPolicy::builder()
        .max_attempts(3)
        .budget(budget)
        .events(events)
        .build();
    let run = policy
        .passes(&Sequential::new(), Scope::all(), &targets, call)
        .await
        .unwrap_err();
    assert_eq!(run.attempts.len(), 1);
    assert!(
        std::iter::from_fn(|| seen.try_recv().ok())
            .any(|event| matches!(event, Event::RetryBudgetExhausted { .. }))
    );
    assert_eq!(policy.stats().budget_exhausted, 1);
}

/// With `same_target`, a failure saying "try again soon" is retried on its
/// target at once, before the strategy moves on; a target that passes the
/// retry over keeps its first failure, and the strategy moves on.
#[tokio::test(start_paused = true)]
async fn same_target_retries_at_once_before_moving_on() {
    let rate_limited = Failure::rate_limited(Some(MS * 200));
    let soon = Reply::Fail(rate_limited);
    let targets = [
        Scripted::new("soon", 10, &[soon, Reply::Answer]),
        Scripted::new("next", 10, &[Reply::Answer]),
    ];
    let policy = RetryPolicy::builder()
        .max_attempts(2)
        .same_target(Duration::from_secs(1))
        .build();
    let origin = Instant::now();
    let served = policy
        .passes(&Sequential::new(), Scope::all(), &targets, call)
        .await
        .unwrap();
    assert_eq!(served.value, 0);
    assert_eq!(origin.elapsed(), 10 * MS + 200 * MS + 10 * MS);
    assert_eq!(
        outcomes(&served.attempts),
        [
            (0, AttemptOutcome::Failed(rate_limited)),
            (0, AttemptOutcome::Served)
        ]
    );
    assert_eq!(served.attempts[0].elapsed, 10 * MS);
    assert_eq!(targets[1].calls(), 0);

    let targets = [
        Scripted::new("soon-then-full", 10, &[soon, Reply::Full]),
        Scripted::new("next", 10, &[Reply::Answer]),
    ];
    let served = policy
        .passes(&Sequential::new(), Scope::all(), &targets, call)
        .await
        .unwrap();
    assert_eq!(served.value, 1);
    assert_eq!(
        outcomes(&served.attempts),
        [
            (0, AttemptOutcome::Failed(rate_limited)),
            (1, AttemptOutcome::Served)
        ]
    );
}

/// A quorum runs in passes too: the answers of a pass that missed the
/// quorum are not kept, the next pass asks the retried targets again.
#[tokio::test(start_paused = true)]
async fn a_quorum_runs_in_passes() {
    let targets = [
        Scripted::new("a", 1, &[Reply::Answer]),
        Scripted::new("b", 1, &[fail(FailureKind::Overloaded), Reply::Answer]),
        Scripted::new("c", 1, &[fail(FailureKind::Fatal)]),
    ];
    let missed = retry(2, 10)
        .passes(&Quorum::new(2), Scope::all(), &targets, call)
        .await
        .unwrap_err();
    // The second pass asks only "b" again: one answer cannot make two.
    assert_eq!(missed.reason, QuorumMiss::Unreachable);
    assert_eq!(targets[1].calls(), 1);
    assert_eq!(targets[0].calls(), 1);
}
