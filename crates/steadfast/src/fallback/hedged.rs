//! Hedged fallback: the first target now, the next one if the first is slow.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::future::poll_fn;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use super::attempt::{AllFailed, AttemptInfo, FailoverOn, StopReason, Success};
use super::run::{Common, Run, until};
use super::{Fallback, Scope, Target};
use crate::budget::Budget;
use crate::classify::AsFailure;
use crate::events::{Event, Events};
use crate::hedge::HedgeDelay;
use crate::latency::LatencyTracker;

/// Calls the first available target; whenever no answer came within the
/// delay, calls the next available target too. The first success wins and
/// every other call is dropped at once.
///
/// A failed call starts the next target at once, without waiting for the
/// delay (that is failover, not an extra attempt), and every start restarts
/// the delay. An optional [`Budget`] caps the calls started by the delay:
/// every run deposits, every delayed start withdraws, and a spent budget starts
/// no more delayed calls in that run. A failure the [`FailoverOn`] predicate
/// rejects ends the run at once.
///
/// With [`HedgeDelay::Percentile`], the delay is the percentile of the
/// latencies of successful calls recorded in [`Hedged::latency`] (a tracker
/// of its own over 60 s, or one shared with [`Hedged::latency_tracker`]).
#[derive(Debug, Clone)]
pub struct Hedged {
    common: Common,
    delay: HedgeDelay,
    latency: Arc<LatencyTracker>,
    budget: Option<Budget>,
}

/// What woke the hedged run.
enum Step<R, E> {
    Finished(usize, Result<R, E>),
    Hedge,
}

impl Hedged {
    /// A strategy named `"hedged"` starting the next target after `delay`, without budget.
    pub fn new(delay: HedgeDelay) -> Hedged {
        Hedged {
            common: Common::new("hedged"),
            delay,
            latency: Arc::new(LatencyTracker::new(Duration::from_secs(60))),
            budget: None,
        }
    }

    super::common_setters!(Hedged);

    /// Caps the calls started by the delay: each run deposits, each withdraws.
    pub fn budget(mut self, budget: Budget) -> Hedged {
        self.budget = Some(budget);
        self
    }

    /// Records successful latencies into (and reads percentiles from) `tracker`.
    pub fn latency_tracker(mut self, tracker: Arc<LatencyTracker>) -> Hedged {
        self.latency = tracker;
        self
    }

    /// The latencies of successful calls.
    pub fn latency(&self) -> &Arc<LatencyTracker> {
        &self.latency
    }

    /// The delay a run started now would wait before its next target.
    pub fn current_delay(&self) -> Duration {
        match self.delay {
            HedgeDelay::Fixed(delay) => delay,
            HedgeDelay::Percentile { q, fallback } => {
                self.latency.percentile(q).unwrap_or(fallback)
            }
        }
    }

    super::run_by_fallback!("Runs `call` on the targets in order, hedging slow calls.");
}

impl Fallback for Hedged {
    type Outcome<R, E> = Result<Success<R>, AllFailed<E>>;

    async fn run_in<T, R, E, F, Fut>(
        &self,
        scope: Scope<'_>,
        targets: &[T],
        mut call: F,
    ) -> Result<Success<R>, AllFailed<E>>
    where
        T: Target,
        E: AsFailure,
        F: FnMut(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let common = &self.common;
        if let Some(budget) = &self.budget {
            budget.deposit();
        }
        let start = Instant::now();
        let delay = self.current_delay();
        let mut run = Run::new(targets, common, scope);
        let mut deadline = pin!(run.deadline());
        let mut order = 0..targets.len();
        let mut running = FuturesUnordered::new();
        match run.start_next(&mut order, &mut call) {
            Some(first) => running.push(first),
            None => return Err(run.exhausted()),
        }
        let mut may_hedge = true;
        let mut timer = pin!(tokio::time::sleep(delay));
        loop {
            let next = poll_fn(|cx| {
                if let Poll::Ready(Some((index, result))) = running.poll_next_unpin(cx) {
                    return Poll::Ready(Step::Finished(index, result));
                }
                if may_hedge && timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Step::Hedge);
                }
                Poll::Pending
            });
            let Some(step) = until(deadline.as_mut(), pin!(next)).await else {
                drop(running);
                return Err(run.timed_out());
            };
            match step {
                Step::Finished(index, Ok(value)) => {
                    drop(running);
                    let success = run.success(index, value);
                    if let Some(attempt) = success.attempts.iter().find(|a| a.index == index) {
                        self.latency.record(attempt.elapsed);
                    }
                    return Ok(success);
                }
                Step::Finished(index, Err(error)) => {
                    if let Some(failure) = run.failed(index, error) {
                        drop(running);
                        return Err(run.all_failed(StopReason::NotFailover(failure)));
                    }
                    if let Some(next) = run.start_next(&mut order, &mut call) {
                        running.push(next);
                        timer.as_mut().reset(Instant::now() + delay);
                    } else if running.is_empty() {
                        return Err(run.exhausted());
                    }
                }
                Step::Hedge => {
                    if order.is_empty() || !self.budget.as_ref().is_none_or(Budget::try_withdraw) {
                        may_hedge = false;
                        continue;
                    }
                    match run.start_next(&mut order, &mut call) {
                        Some(next) => {
                            running.push(next);
                            common.events.emit(Event::HedgeStarted {
                                name: common.name.clone(),
                                attempt: run.calls(),
                                after: start.elapsed(),
                            });
                            timer.as_mut().reset(Instant::now() + delay);
                        }
                        None => may_hedge = false,
                    }
                }
            }
        }
    }
}
