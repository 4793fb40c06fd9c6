//! The attempt loop of a route, on the library: the route's retry policy
//! (`steadfast::retry::RetryPolicy::passes`) runs its strategy over its
//! targets in passes — targets whose failure may pass (transient, timeout,
//! rate-limited, overloaded) or whose queue was full get another pass, within
//! the retry budget and after a backoff that honours their `Retry-After`; with
//! `retry.same_target`, a failure saying "try again soon" is retried at once —
//! every target gets at most `max_attempts` attempts, and the route's time
//! limit ends the whole (calls then in flight are timeouts). What is the
//! gateway's own: each attempt's local checks and call (`Request::attempt`),
//! and what an unanswered request tells the client (`Request::unserved`).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast::events::{Event, Events, Rejection};
use steadfast::fallback::{
    self, AllFailed, AttemptInfo, AttemptOutcome, QuorumFailed, QuorumMiss, QuorumSuccess, Scope,
    SkipReason, StopReason, Success,
};
use steadfast::{Failure, FailureKind};
use tokio::time::Instant;

use crate::admission::Admission;
use crate::error::AttemptError;
use crate::outcome::{Attempt, AttemptResult, Outcome, Skip};
use crate::runtime::{Route, RouteStrategy, Target};

/// A request that targets answered.
#[derive(Debug)]
pub struct Served<T> {
    /// What the answering attempt produced (one per answer of a quorum).
    pub values: Vec<(Arc<Target>, T)>,
    /// Every attempt.
    pub attempts: Vec<Attempt>,
}

/// Why no target answered.
#[derive(Debug)]
pub enum Unserved {
    /// The request itself is at fault (e.g. invalid); no target will take it.
    Client(AttemptError),
    /// Every target failed, was skipped, or ran out of attempts.
    Exhausted {
        /// The last failure seen, if any attempt was sent.
        last: Option<AttemptError>,
    },
    /// A quorum route got fewer answers than it needs.
    NoQuorum {
        /// Answers needed.
        needed: usize,
        /// Answers received.
        got: usize,
    },
    /// The route's time budget ran out.
    TimedOut {
        /// The budget.
        after: Duration,
    },
}

/// How the attempt loop ended.
#[derive(Debug)]
pub struct Failed {
    /// Why.
    pub reason: Unserved,
    /// Every attempt made or skipped.
    pub attempts: Vec<Attempt>,
}

impl Failed {
    /// Whether the request itself is at fault: a client error, or every
    /// target said it does not fit their context window.
    pub fn request_at_fault(&self) -> bool {
        match &self.reason {
            Unserved::Client(_) => true,
            Unserved::Exhausted { last: Some(last) } => {
                last.failure.kind == FailureKind::ContextLength
                    && self.attempts.iter().all(|a| match a.result {
                        AttemptResult::Failed { kind } => kind == FailureKind::ContextLength,
                        _ => true,
                    })
            }
            _ => false,
        }
    }
}

impl Unserved {
    /// How a request that ended so counts.
    pub fn outcome(&self) -> Outcome {
        match self {
            Unserved::Client(_) => Outcome::ClientError,
            Unserved::TimedOut { .. } => Outcome::Timeout,
            Unserved::Exhausted { .. } | Unserved::NoQuorum { .. } => Outcome::Failed,
        }
    }
}

/// A target as the library's strategies see it.
struct Candidate<'a> {
    target: &'a Arc<Target>,
    events: &'a Events,
}

impl fallback::Target for Candidate<'_> {
    fn name(&self) -> &Arc<str> {
        &self.target.name
    }

    fn is_available(&self) -> bool {
        self.target.is_available() && self.target.cooling_down().is_none()
    }

    /// Why it is unavailable; an open breaker is also published as a
    /// rejection, as the breaker itself does when it refuses.
    fn skip_reason(&self) -> SkipReason {
        let skip = if !self.target.breaker.would_admit() {
            self.events.emit(Event::Rejected {
                name: Arc::clone(&self.target.name),
                by: Rejection::BreakerOpen,
            });
            Skip::BreakerOpen
        } else if self.target.cooling_down().is_some() {
            Skip::CoolingDown
        } else {
            Skip::Unhealthy
        };
        skip.reason()
    }

    /// A key near the end of its provider's rate limit costs more, so a
    /// least-loaded route gives it less before it answers 429.
    fn load_factor(&self) -> f64 {
        1.0 / self.target.headroom().clamp(MIN_HEADROOM, 1.0)
    }
}

/// The least share of a rate limit left counted (a key with less costs 20
/// times one with all of it, not infinitely more).
const MIN_HEADROOM: f64 = 0.05;

/// Runs `attempt` on the route's targets until the strategy has its answer(s).
/// The request's end is counted by its [`RequestRecord`](crate::record::RequestRecord), not here,
/// so a stream's continuation on another target is no new request.
///
/// `attempt` gets the [`Admission`] of a target and must record its outcome on
/// it (or drop it if the attempt was cancelled). Targets named in `exclude`
/// are not tried.
pub(crate) async fn run<T, F, Fut>(
    route: &Route,
    events: &Events,
    estimated_units: u64,
    exclude: &[Arc<str>],
    attempt: F,
) -> Result<Served<T>, Failed>
where
    F: Fn(Admission) -> Fut,
    Fut: Future<Output = Result<T, AttemptError>>,
{
    route.notice_recoveries();
    let candidates: Vec<Candidate<'_>> = (route.targets.iter())
        .map(|target| Candidate { target, events })
        .collect();
    let in_scope: Vec<bool> = (route.targets.iter())
        .map(|target| !exclude.contains(&target.name))
        .collect();
    let scope = Scope::all()
        .until(Instant::now() + route.timeout())
        .only(&in_scope);
    let request = Request::default();
    let call = |_: &Candidate<'_>, info: AttemptInfo| {
        // On its last pass, the last target that can take the request may
        // wait in its queue: every one after it is out.
        let last_resort = info.pass + 1 == route.max_attempts()
            && (info.index + 1..candidates.len()).all(|later| {
                !in_scope[later] || !fallback::Target::is_available(&candidates[later])
            });
        let target = &route.targets[info.index];
        request.attempt(target, estimated_units, last_resort, &attempt)
    };
    let (ended, attempts) = match &route.strategy {
        RouteStrategy::Single(strategy) => {
            Ended::single(route.retry.passes(strategy, scope, &candidates, call).await)
        }
        RouteStrategy::Quorum(quorum) => {
            Ended::quorum(route.retry.passes(quorum, scope, &candidates, call).await)
        }
    };
    let attempts = record(route, &attempts);
    match ended {
        Ended::Answered(values) => Ok(Served {
            values: (values.into_iter())
                .map(|(index, value)| (Arc::clone(&route.targets[index]), value))
                .collect(),
            attempts,
        }),
        Ended::Missed {
            reason,
            last,
            quorum,
        } => Err(Failed {
            reason: request.unserved(route, reason, last, quorum, &attempts),
            attempts,
        }),
    }
}

/// How the passes over a route's targets ended, whichever its strategy.
enum Ended<T> {
    /// With the answer(s), by target index.
    Answered(Vec<(usize, T)>),
    /// Without: why, the last failure, and for a quorum the answers needed and got.
    Missed {
        reason: StopReason,
        last: Option<AttemptError>,
        quorum: Option<(usize, usize)>,
    },
}

impl<T> Ended<T> {
    /// How a single-answer strategy's passes ended, and their attempts.
    fn single(
        passes: Result<Success<T>, AllFailed<AttemptError>>,
    ) -> (Ended<T>, Vec<fallback::Attempt>) {
        match passes {
            Ok(served) => (
                Ended::Answered(vec![(served.target_index, served.value)]),
                served.attempts,
            ),
            Err(missed) => {
                let (reason, last) = (missed.reason, missed.last_error);
                let quorum = None;
                (
                    Ended::Missed {
                        reason,
                        last,
                        quorum,
                    },
                    missed.attempts,
                )
            }
        }
    }

    /// How a quorum's passes ended, and their attempts.
    fn quorum(
        passes: Result<QuorumSuccess<T>, QuorumFailed<AttemptError>>,
    ) -> (Ended<T>, Vec<fallback::Attempt>) {
        match passes {
            Ok(served) => (Ended::Answered(served.values), served.attempts),
            Err(missed) => {
                let reason = match missed.reason {
                    QuorumMiss::Deadline => StopReason::TimedOut,
                    QuorumMiss::NotFailover(failure) => StopReason::NotFailover(failure),
                    QuorumMiss::Unreachable => StopReason::Exhausted,
                };
                let (last, quorum) = (missed.last_error, Some((missed.needed, missed.got)));
                (
                    Ended::Missed {
                        reason,
                        last,
                        quorum,
                    },
                    missed.attempts,
                )
            }
        }
    }
}

/// What the attempts of one request share: the context window known to be
/// too small for it, and why the last target that could not carry it could not.
#[derive(Default)]
struct Request {
    too_small_window: AtomicU64,
    untranslatable: Mutex<Option<AttemptError>>,
}

impl Request {
    /// One attempt on `target`: passed over when a smaller context window
    /// already refused the request or a local check refuses it (module
    /// `admission`), else `attempt` with the target's admission.
    async fn attempt<T, F, Fut>(
        &self,
        target: &Arc<Target>,
        estimated_units: u64,
        last_resort: bool,
        attempt: &F,
    ) -> Result<T, AttemptError>
    where
        F: Fn(Admission) -> Fut,
        Fut: Future<Output = Result<T, AttemptError>>,
    {
        let too_small = self.too_small_window.load(Ordering::Relaxed);
        if too_small > 0 && (target.settings.context_window).is_some_and(|w| w <= too_small) {
            return Err(AttemptError::skipped(Skip::ContextTooSmall));
        }
        let admission = Admission::admit(target, estimated_units, last_resort)
            .await
            .map_err(AttemptError::skipped)?;
        let result = attempt(admission).await;
        if let Err(error) = &result {
            match error.skip() {
                Some(reason) => {
                    tracing::debug!(target_model = %target.name, "{}", error.message);
                    if reason == Skip::Untranslatable {
                        if let Ok(mut why) = self.untranslatable.lock() {
                            *why = Some(error.clone());
                        }
                    }
                }
                None if error.failure.kind == FailureKind::ContextLength => {
                    let window = target.settings.context_window.unwrap_or(0);
                    self.too_small_window.fetch_max(window, Ordering::Relaxed);
                }
                None => {}
            }
        }
        result
    }

    /// Why no target answered: the client's own mistake goes back to it (an
    /// invalid request, or one no target's format can carry); the route's
    /// time limit; a quorum short of answers; or every target out.
    fn unserved(
        &self,
        route: &Route,
        reason: StopReason,
        last: Option<AttemptError>,
        quorum: Option<(usize, usize)>,
        attempts: &[Attempt],
    ) -> Unserved {
        match reason {
            StopReason::TimedOut => {
                return Unserved::TimedOut {
                    after: route.timeout(),
                };
            }
            StopReason::NotFailover(failure) => {
                return match last {
                    Some(error) if failure.kind == FailureKind::InvalidRequest => {
                        Unserved::Client(error)
                    }
                    last => Unserved::Exhausted { last },
                };
            }
            StopReason::NoTargets | StopReason::NoneAvailable | StopReason::Exhausted => {}
        }
        let none_can_carry = !attempts.is_empty()
            && attempts.iter().all(|attempt| {
                matches!(
                    attempt.result,
                    AttemptResult::Skipped {
                        reason: Skip::Untranslatable
                    }
                )
            });
        let untranslatable = (self.untranslatable.lock().ok()).and_then(|mut why| why.take());
        match (none_can_carry, untranslatable, quorum) {
            (true, Some(why), _) => {
                let message = format!(
                    "No target of route {:?} can take this request. {}",
                    &*route.name, why.message
                );
                let failure = Failure::new(FailureKind::InvalidRequest);
                Unserved::Client(AttemptError::new(failure, message))
            }
            (_, _, Some((needed, got))) => Unserved::NoQuorum { needed, got },
            _ => Unserved::Exhausted { last },
        }
    }
}

/// The library's attempts as the gateway records them, each counted in its
/// target's metrics.
fn record(route: &Route, attempts: &[fallback::Attempt]) -> Vec<Attempt> {
    (attempts.iter())
        .map(|attempt| {
            let result = match attempt.outcome {
                AttemptOutcome::Served => AttemptResult::Served,
                AttemptOutcome::Cancelled => AttemptResult::Cancelled,
                AttemptOutcome::Skipped(reason) => AttemptResult::Skipped {
                    reason: Skip::from_reason(reason),
                },
                AttemptOutcome::Failed(failure) => AttemptResult::Failed { kind: failure.kind },
            };
            route.metrics.attempt(attempt.index, result);
            Attempt {
                target: Arc::clone(&attempt.target),
                result,
                elapsed: attempt.elapsed,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    //! The attempt loop behind its upstream seam (the `attempt` closure), on
    //! a paused clock.

    use std::time::Duration;

    use serde_json::{Value, json};
    use steadfast::events::Events;
    use steadfast::health::{HealthState, OutlierConfig};
    use steadfast::{Failure, FailureKind};

    use super::*;
    use crate::upstream::Provider;

    /// What a simulated upstream does for a call.
    #[derive(Clone, Copy)]
    enum Upstream {
        Answers(u64),
        Fails(u64, FailureKind),
        CannotCarry,
    }

    /// A model named `name` with `extra` settings.
    fn target(name: &str, extra: Value) -> Arc<Target> {
        let provider =
            serde_json::from_value(json!({"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}))
                .unwrap();
        let mut model = json!({"provider": "p", "model": name});
        if let (Some(model), Some(extra)) = (model.as_object_mut(), extra.as_object()) {
            model.extend(extra.clone());
        }
        let model = serde_json::from_value(model).unwrap();
        let health = HealthState::new(name, Events::none(), OutlierConfig::disabled());
        let provider = Arc::new(Provider::from_config("p", &provider).unwrap());
        let events = Events::none();
        Arc::new(Target::new(name, &model, provider, health, &events, None))
    }

    /// A route over `targets` with `settings`.
    fn route_of(targets: Vec<Arc<Target>>, settings: Value) -> Route {
        let mut settings = settings;
        let names: Vec<Value> = targets.iter().map(|t| json!(&*t.name)).collect();
        settings["targets"] = Value::Array(names);
        let settings = serde_json::from_value(settings).unwrap();
        Route::new("chat", &settings, targets, &Events::none(), None, None)
    }

    /// Runs the route, each target doing what `upstream` says of it.
    async fn run_with(
        route: &Route,
        upstream: impl Fn(&str) -> Upstream,
    ) -> Result<Served<Arc<str>>, Failed> {
        run(route, &Events::none(), 0, &[], |admission| {
            let name = Arc::clone(&admission.target().name);
            let does = upstream(&name);
            async move {
                match does {
                    Upstream::Answers(ms) => {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        admission.succeed(None);
                        Ok(name)
                    }
                    Upstream::Fails(ms, kind) => {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        admission.fail(Failure::new(kind));
                        Err(AttemptError::new(Failure::new(kind), "upstream failed"))
                    }
                    Upstream::CannotCarry => Err(AttemptError::passed_over(
                        Skip::Untranslatable,
                        "this format cannot carry it".into(),
                    )),
                }
            }
        })
        .await
    }

    fn results(attempts: &[Attempt]) -> Vec<(&str, String)> {
        (attempts.iter())
            .map(|a| (&*a.target, format!("{:?}", a.result)))
            .collect()
    }

    fn failed(kind: FailureKind) -> String {
        format!("{:?}", AttemptResult::Failed { kind })
    }

    fn skipped(reason: Skip) -> String {
        format!("{:?}", AttemptResult::Skipped { reason })
    }

    /// The route's time limit ends the run: the call still running is a
    /// timeout, and a target that had already answered 502 keeps its 502.
    #[tokio::test(start_paused = true)]
    async fn the_time_limit_times_out_calls_in_flight_and_keeps_those_that_ended() {
        let route = route_of(
            vec![target("fails", json!({})), target("hangs", json!({}))],
            json!({"strategy": "parallel", "timeout": "100ms"}),
        );
        let failed_run = run_with(&route, |name| match name {
            "fails" => Upstream::Fails(10, FailureKind::Transient),
            _ => Upstream::Answers(60_000),
        })
        .await
        .unwrap_err();
        assert!(matches!(failed_run.reason, Unserved::TimedOut { .. }));
        let mut got = results(&failed_run.attempts);
        got.sort();
        assert_eq!(
            got,
            [
                ("fails", failed(FailureKind::Transient)),
                ("hangs", failed(FailureKind::Timeout))
            ]
        );
    }

    /// A target that cannot carry the request is passed over even when
    /// `fallback_on` names only rate limits and context lengths; a route
    /// where none can is the client's fault.
    #[tokio::test(start_paused = true)]
    async fn a_target_that_cannot_carry_the_request_is_passed_over_whatever_fallback_on_says() {
        let restricted = json!({"fallback_on": ["rate_limited", "context_length"]});
        let route = route_of(
            vec![target("claude", json!({})), target("gpt", json!({}))],
            restricted.clone(),
        );
        let served = run_with(&route, |name| match name {
            "claude" => Upstream::CannotCarry,
            _ => Upstream::Answers(1),
        })
        .await
        .unwrap();
        assert_eq!(&*served.values[0].1, "gpt");
        assert_eq!(
            results(&served.attempts),
            [
                ("claude", skipped(Skip::Untranslatable)),
                ("gpt", format!("{:?}", AttemptResult::Served))
            ]
        );
        let none_can = route_of(vec![target("claude", json!({}))], restricted);
        let refused = run_with(&none_can, |_| Upstream::CannotCarry)
            .await
            .unwrap_err();
        assert!(matches!(refused.reason, Unserved::Client(_)));
        assert!(refused.request_at_fault());
    }

    /// A context window found too small passes over every target whose
    /// window is no larger.
    #[tokio::test(start_paused = true)]
    async fn a_window_too_small_passes_over_the_smaller_ones() {
        let route = route_of(
            vec![
                target("mid", json!({"context_window": 8000})),
                target("small", json!({"context_window": 4000})),
                target("large", json!({"context_window": 128000})),
            ],
            json!({}),
        );
        let served = run_with(&route, |name| match name {
            "large" => Upstream::Answers(1),
            _ => Upstream::Fails(1, FailureKind::ContextLength),
        })
        .await
        .unwrap();
        assert_eq!(&*served.values[0].1, "large");
        assert_eq!(
            results(&served.attempts)[..2],
            [
                ("mid", failed(FailureKind::ContextLength)),
                ("small", skipped(Skip::ContextTooSmall))
            ]
        );
    }

    /// A failed target comes back in a later pass, after the backoff; a
    /// client's invalid request is not tried elsewhere.
    #[tokio::test(start_paused = true)]
    async fn failed_targets_come_back_after_the_backoff_and_invalid_requests_do_not() {
        let route = route_of(
            vec![target("a", json!({})), target("b", json!({}))],
            json!({"retry": {"max_attempts": 2, "initial_backoff": "200ms", "jitter": "none"}}),
        );
        let calls = std::sync::Mutex::new(Vec::new());
        let origin = Instant::now();
        let served = run_with(&route, |name| {
            calls.lock().unwrap().push(name.to_owned());
            match (name, calls.lock().unwrap().len()) {
                ("b", 4) => Upstream::Answers(1),
                _ => Upstream::Fails(1, FailureKind::Overloaded),
            }
        })
        .await
        .unwrap();
        assert_eq!(&*served.values[0].1, "b");
        assert_eq!(*calls.lock().unwrap(), ["a", "b", "a", "b"]);
        assert!(origin.elapsed() >= Duration::from_millis(200));
        let invalid = run_with(&route, |_| Upstream::Fails(1, FailureKind::InvalidRequest))
            .await
            .unwrap_err();
        assert!(matches!(invalid.reason, Unserved::Client(_)));
        assert_eq!(invalid.attempts.len(), 1);
    }

    /// A quorum short of answers says how short.
    #[tokio::test(start_paused = true)]
    async fn a_quorum_short_of_answers_says_so() {
        let route = route_of(
            vec![
                target("a", json!({})),
                target("b", json!({})),
                target("c", json!({})),
            ],
            json!({"strategy": "quorum", "quorum": 2, "retry": {"max_attempts": 1}}),
        );
        let missed = run_with(&route, |name| match name {
            "a" => Upstream::Answers(1),
            _ => Upstream::Fails(1, FailureKind::Transient),
        })
        .await
        .unwrap_err();
        assert!(matches!(
            missed.reason,
            Unserved::NoQuorum { needed: 2, got: 1 }
        ));
    }
}
