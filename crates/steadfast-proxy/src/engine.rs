//! The attempt loop of a route, on the library's fallback strategies: the
//! route's strategy runs over its targets; if it finds no answer, targets whose
//! failure may pass (transient, timeout, rate-limited, overloaded) get another
//! pass, within the retry budget and after a backoff that honours their
//! `Retry-After`. With `retry.same_target`, a target whose failure says "try
//! again soon" is retried at once, before the strategy moves on
//! (module `same_target`). Every target gets at most
//! `max_attempts` attempts; the route's time budget bounds the whole.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast::events::{Event, Events};
use steadfast::fallback::{self, AttemptInfo, AttemptOutcome};
use steadfast::{Failure, FailureKind};
use tokio::time::Instant;

use crate::admission::Admission;
use crate::error::AttemptError;
use crate::outcome::{Attempt, AttemptResult, Outcome, Skip};
use crate::runtime::{Route, RouteStrategy, Target};
use crate::same_target;

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
struct Candidate<'a>(&'a Arc<Target>);

impl fallback::Target for Candidate<'_> {
    fn name(&self) -> &Arc<str> {
        &self.0.name
    }

    fn is_available(&self) -> bool {
        self.0.is_available() && self.0.cooling_down().is_none()
    }

    /// A key near the end of its provider's rate limit costs more, so a
    /// least-loaded route gives it less before it answers 429.
    fn load_factor(&self) -> f64 {
        1.0 / self.0.headroom().clamp(MIN_HEADROOM, 1.0)
    }
}

/// The least share of a rate limit left counted (a key with less costs 20
/// times one with all of it, not infinitely more).
const MIN_HEADROOM: f64 = 0.05;

/// What the attempts of one request share: skips found inside a call (and
/// why the last target that could not carry the request could not), the
/// calls of the current pass, the context window known to be too small, the
/// attempts each target was sent and those retried on the spot.
struct Shared {
    skips: Mutex<Vec<(Arc<str>, Skip)>>,
    untranslatable: Mutex<Option<AttemptError>>,
    called: Mutex<Vec<Called>>,
    too_small_window: AtomicU64,
    sent: Vec<AtomicU32>,
    retried: Mutex<Vec<Attempt>>,
}

impl Shared {
    /// Why `target` was last passed over in this request, if it was.
    fn last_skip(&self, target: &str) -> Option<Skip> {
        let skips = self.skips.lock().ok()?;
        skips
            .iter()
            .rev()
            .find(|(name, _)| &**name == target)
            .map(|(_, reason)| *reason)
    }
}

/// A call of the current pass: its target's index in the route, when it
/// began and, once it ended, how and after how long. When the route's time
/// budget cuts the pass, calls still running are timeouts and the others
/// keep their own result.
struct Called {
    index: usize,
    started: Instant,
    ended: Option<(AttemptResult, Duration)>,
}

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
    let deadline = Instant::now() + route.timeout();
    route.budget.deposit();
    route.notice_recoveries();
    let shared = Shared {
        skips: Mutex::new(Vec::new()),
        untranslatable: Mutex::new(None),
        called: Mutex::new(Vec::new()),
        too_small_window: AtomicU64::new(0),
        sent: route.targets.iter().map(|_| AtomicU32::new(0)).collect(),
        retried: Mutex::new(Vec::new()),
    };
    let mut attempts = Vec::new();
    let mut last_failure: Vec<Option<Failure>> = vec![None; route.targets.len()];
    let mut last_error = None;
    let mut backoff = Duration::ZERO;
    for pass in 0..route.max_attempts() {
        let eligible: Vec<usize> = (0..route.targets.len())
            .filter(|&i| !exclude.contains(&route.targets[i].name))
            .filter(|&i| pass == 0 || last_failure[i].is_some_and(|f| f.kind.is_retryable()))
            .filter(|&i| shared.sent[i].load(Ordering::Relaxed) < route.max_attempts())
            .collect();
        if eligible.is_empty() {
            break;
        }
        if pass > 0 {
            if !route.budget.try_withdraw() {
                events.emit(Event::RetryBudgetExhausted {
                    name: Arc::clone(&route.name),
                });
                break;
            }
            backoff = route.backoff.delay(pass, backoff, &route.rng);
            let cooling = eligible
                .iter()
                .filter_map(|&i| route.targets[i].cooling_down())
                .min()
                .unwrap_or_default();
            let wait = backoff.max(cooling);
            if Instant::now() + wait >= deadline {
                break;
            }
            for &index in &eligible {
                if let Some(failure) = last_failure[index] {
                    events.emit(Event::RetryScheduled {
                        name: Arc::clone(&route.name),
                        attempt: pass,
                        delay: wait,
                        failure,
                    });
                }
            }
            tokio::time::sleep(wait).await;
        }
        let candidates: Vec<Candidate<'_>> = eligible
            .iter()
            .map(|&i| Candidate(&route.targets[i]))
            .collect();
        let last_pass = pass + 1 == route.max_attempts();
        if let Ok(mut called) = shared.called.lock() {
            called.clear();
        }
        let call = |candidate: &Candidate<'_>, info: AttemptInfo| {
            let target = Arc::clone(candidate.0);
            let route_index = eligible[info.index];
            // The last target that can take the request may wait in its
            // bulkhead's queue: every one after it is out (their breakers
            // open, unhealthy or cooling down).
            let last_resort = last_pass
                && candidates[info.index + 1..]
                    .iter()
                    .all(|later| !fallback::Target::is_available(later));
            let shared = &shared;
            let attempt = &attempt;
            async move {
                let note_skip = |reason: Skip| {
                    if let Ok(mut skips) = shared.skips.lock() {
                        skips.push((Arc::clone(&target.name), reason));
                    }
                };
                let skip = |reason: Skip| {
                    note_skip(reason);
                    Err(AttemptError::skipped(reason))
                };
                let too_small = shared.too_small_window.load(Ordering::Relaxed);
                if too_small > 0
                    && target
                        .settings
                        .context_window
                        .is_some_and(|w| w <= too_small)
                {
                    return skip(Skip::ContextTooSmall);
                }
                let admission = match Admission::admit(&target, estimated_units, last_resort).await
                {
                    Ok(admission) => admission,
                    Err(reason) => return skip(reason),
                };
                let slot = shared.called.lock().ok().map(|mut called| {
                    called.push(Called {
                        index: route_index,
                        started: Instant::now(),
                        ended: None,
                    });
                    called.len() - 1
                });
                shared.sent[route_index].fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let mut result = attempt(admission).await;
                if let Err(error) = &result {
                    let retry = (shared.sent[route_index].load(Ordering::Relaxed)
                        < route.max_attempts())
                    .then(|| same_target::wait(route, error, deadline))
                    .flatten();
                    if let Some(wait) = retry {
                        let failed = Attempt {
                            target: Arc::clone(&target.name),
                            result: AttemptResult::Failed {
                                kind: error.failure.kind,
                            },
                            elapsed: started.elapsed(),
                        };
                        events.emit(Event::RetryScheduled {
                            name: Arc::clone(&route.name),
                            attempt: 1,
                            delay: wait,
                            failure: error.failure,
                        });
                        tokio::time::sleep(wait).await;
                        // Not admitted again (its breaker opened meanwhile,
                        // say): the first failure stands as the attempt.
                        if let Ok(admission) =
                            Admission::admit(&target, estimated_units, last_resort).await
                        {
                            route.metrics.attempt(route_index, failed.result);
                            if let Ok(mut retried) = shared.retried.lock() {
                                retried.push(failed);
                            }
                            shared.sent[route_index].fetch_add(1, Ordering::Relaxed);
                            result = attempt(admission).await;
                        }
                    }
                }
                let ended = match &result {
                    Ok(_) => AttemptResult::Served,
                    Err(error) => match error.skip() {
                        Some(reason) => {
                            tracing::debug!(target_model = %target.name, "{}", error.message);
                            note_skip(reason);
                            if reason == Skip::Untranslatable {
                                if let Ok(mut why) = shared.untranslatable.lock() {
                                    *why = Some(error.clone());
                                }
                            }
                            AttemptResult::Skipped { reason }
                        }
                        None => {
                            if error.failure.kind == FailureKind::ContextLength {
                                let window = target.settings.context_window.unwrap_or(0);
                                shared.too_small_window.fetch_max(window, Ordering::Relaxed);
                            }
                            AttemptResult::Failed {
                                kind: error.failure.kind,
                            }
                        }
                    },
                };
                if let (Some(slot), Ok(mut called)) = (slot, shared.called.lock()) {
                    if let Some(call) = called.get_mut(slot) {
                        call.ended = Some((ended, call.started.elapsed()));
                    }
                }
                result
            }
        };
        let outcome = match &route.strategy {
            RouteStrategy::Single(strategy) => {
                match tokio::time::timeout_at(deadline, strategy.run(&candidates, call)).await {
                    Err(_) => Err(None),
                    Ok(Ok(success)) => {
                        let target = Arc::clone(candidates[success.target_index].0);
                        Ok((vec![(target, success.value)], success.attempts))
                    }
                    Ok(Err(failed)) => Err(Some((
                        failed.attempts,
                        failed.last_error,
                        failed.reason,
                        None,
                    ))),
                }
            }
            RouteStrategy::Quorum(quorum) => {
                match tokio::time::timeout_at(deadline, quorum.run(&candidates, call)).await {
                    Err(_) => Err(None),
                    Ok(Ok(success)) => {
                        let values = success
                            .values
                            .into_iter()
                            .map(|(index, value)| (Arc::clone(candidates[index].0), value))
                            .collect();
                        Ok((values, success.attempts))
                    }
                    Ok(Err(failed)) => {
                        let reason = match failed.reason {
                            fallback::QuorumMiss::NotFailover(failure) => {
                                fallback::StopReason::NotFailover(failure)
                            }
                            _ => fallback::StopReason::Exhausted,
                        };
                        let missed = Some((failed.needed, failed.got));
                        Err(Some((failed.attempts, failed.last_error, reason, missed)))
                    }
                }
            }
        };
        match outcome {
            Ok((values, ran)) => {
                attempts.extend(convert(route, events, &eligible, &ran, &shared));
                return Ok(Served { values, attempts });
            }
            Err(None) => {
                // The time budget cut the calls still running: they timed
                // out; those that had ended keep their own result.
                if let Ok(mut retried) = shared.retried.lock() {
                    attempts.append(&mut retried);
                }
                let called = shared
                    .called
                    .lock()
                    .map(|mut called| std::mem::take(&mut *called))
                    .unwrap_or_default();
                for call in called {
                    let (result, elapsed) = call.ended.unwrap_or_else(|| {
                        let timeout = AttemptResult::Failed {
                            kind: FailureKind::Timeout,
                        };
                        (timeout, call.started.elapsed())
                    });
                    route.metrics.attempt(call.index, result);
                    attempts.push(Attempt {
                        target: Arc::clone(&route.targets[call.index].name),
                        result,
                        elapsed,
                    });
                }
                return Err(Failed {
                    reason: Unserved::TimedOut {
                        after: route.timeout(),
                    },
                    attempts,
                });
            }
            Err(Some((ran, error, reason, missed))) => {
                for attempt in &ran {
                    let index = eligible[attempt.index];
                    match attempt.outcome {
                        AttemptOutcome::Failed(failure) => last_failure[index] = Some(failure),
                        // A full target may have a place by the next pass
                        // (where, the last one left, it waits in its queue).
                        AttemptOutcome::Skipped
                            if shared.last_skip(&route.targets[index].name) == Some(Skip::Busy) =>
                        {
                            last_failure[index] = Some(Failure::new(FailureKind::Overloaded));
                        }
                        _ => {}
                    }
                }
                attempts.extend(convert(route, events, &eligible, &ran, &shared));
                if error.is_some() {
                    last_error = error;
                }
                if let fallback::StopReason::NotFailover(failure) = reason {
                    // The client's own mistake goes back to it; any other
                    // failure the route does not fail over on ends it as unserved.
                    let reason = match last_error.take() {
                        Some(error) if failure.kind == FailureKind::InvalidRequest => {
                            Unserved::Client(error)
                        }
                        last => Unserved::Exhausted { last },
                    };
                    return Err(Failed { reason, attempts });
                }
                if let Some((needed, got)) = missed {
                    if pass + 1 == route.max_attempts() {
                        return Err(Failed {
                            reason: Unserved::NoQuorum { needed, got },
                            attempts,
                        });
                    }
                }
            }
        }
    }
    // No target of the route speaks a format that carries this request:
    // the request, not the route, is at fault.
    let none_can_carry = !attempts.is_empty()
        && attempts.iter().all(|attempt| {
            matches!(
                attempt.result,
                AttemptResult::Skipped {
                    reason: Skip::Untranslatable
                }
            )
        });
    let untranslatable = shared
        .untranslatable
        .lock()
        .ok()
        .and_then(|mut why| why.take());
    if let (true, Some(why)) = (none_can_carry, untranslatable) {
        let message = format!(
            "No target of route {:?} can take this request. {}",
            &*route.name, why.message
        );
        return Err(Failed {
            reason: Unserved::Client(AttemptError::new(
                Failure::new(FailureKind::InvalidRequest),
                message,
            )),
            attempts,
        });
    }
    Err(Failed {
        reason: Unserved::Exhausted { last: last_error },
        attempts,
    })
}

/// The library's attempt records, with skips found inside a call shown as
/// skips, after the attempts retried on the spot.
fn convert(
    route: &Route,
    events: &Events,
    eligible: &[usize],
    ran: &[fallback::Attempt],
    shared: &Shared,
) -> Vec<Attempt> {
    let mut skips = shared
        .skips
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    let retried = shared
        .retried
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    retried
        .into_iter()
        .chain(ran.iter().map(|attempt| {
            let result = match attempt.outcome {
                AttemptOutcome::Served => AttemptResult::Served,
                AttemptOutcome::Cancelled => AttemptResult::Cancelled,
                // Passed over at the call (its reason noted there), or
                // unavailable before it.
                AttemptOutcome::Skipped => AttemptResult::Skipped {
                    reason: match skips.iter().position(|(name, _)| *name == attempt.target) {
                        Some(position) => skips.swap_remove(position).1,
                        None => eligible
                            .get(attempt.index)
                            .map_or(Skip::Unavailable, |&index| {
                                unavailable(events, &route.targets[index])
                            }),
                    },
                },
                AttemptOutcome::Failed(failure) => AttemptResult::Failed { kind: failure.kind },
            };
            if let Some(&index) = eligible.get(attempt.index) {
                route.metrics.attempt(index, result);
            }
            Attempt {
                target: Arc::clone(&attempt.target),
                result,
                elapsed: attempt.elapsed,
            }
        }))
        .collect()
}

/// Why a target was unavailable before any call; an open breaker is also
/// published as a rejection, as the breaker itself does when it refuses.
fn unavailable(events: &Events, target: &Target) -> Skip {
    if !target.breaker.would_admit() {
        events.emit(Event::Rejected {
            name: Arc::clone(&target.name),
            by: steadfast::events::Rejection::BreakerOpen,
        });
        Skip::BreakerOpen
    } else if target.cooling_down().is_some() {
        Skip::CoolingDown
    } else {
        Skip::Unhealthy
    }
}
