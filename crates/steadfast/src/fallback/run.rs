//! The bookkeeping every strategy shares: which targets were passed over,
//! called, answered or cancelled, and the `FallbackTaken` events between them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use futures_util::future::poll_fn;
use tokio::time::{Instant, Sleep};

use super::attempt::{AllFailed, Attempt, AttemptInfo, AttemptOutcome, FailoverOn, StopReason};
use super::{Scope, Success, Target};
use crate::Failure;
use crate::classify::AsFailure;
use crate::events::{Event, Events};

/// The settings every strategy has.
#[derive(Debug, Clone)]
pub(super) struct Common {
    pub(super) name: Arc<str>,
    pub(super) events: Events,
    pub(super) fallback_on: FailoverOn,
}

impl Common {
    pub(super) fn new(name: &str) -> Common {
        Common {
            name: name.into(),
            events: Events::none(),
            fallback_on: FailoverOn::default(),
        }
    }
}

/// One run of a strategy over `targets`.
pub(super) struct Run<'a, T, E> {
    targets: &'a [T],
    events: &'a Events,
    fallback_on: &'a FailoverOn,
    attempts: Vec<Attempt>,
    last_error: Option<E>,
    calls: u32,
    in_flight: Vec<(usize, Instant)>,
    /// The target being left, and why, until the next one is considered.
    leaving: Option<(usize, Option<Failure>)>,
    scope: Scope<'a>,
}

impl<'a, T: Target, E: AsFailure> Run<'a, T, E> {
    /// A run over the targets of `scope` among `targets`.
    pub(super) fn new(targets: &'a [T], common: &'a Common, scope: Scope<'a>) -> Run<'a, T, E> {
        Run {
            targets,
            events: &common.events,
            fallback_on: &common.fallback_on,
            attempts: Vec::with_capacity(targets.len()),
            last_error: None,
            calls: 0,
            in_flight: Vec::new(),
            leaving: None,
            scope,
        }
    }

    /// A timer of the run's deadline, if it has one, to pin and pass to [`until`].
    pub(super) fn deadline(&self) -> Option<Sleep> {
        self.scope.deadline().map(tokio::time::sleep_until)
    }

    /// Considers target `index` next: passes over it silently (returning
    /// `false`) when out of the run's scope; else announces the move from
    /// the target left before, and records it as skipped (returning `false`)
    /// when unavailable.
    pub(super) fn consider(&mut self, index: usize) -> bool {
        if !self.scope.includes(index) {
            return false;
        }
        if let Some((from, failure)) = self.leaving.take() {
            self.events.emit(Event::FallbackTaken {
                from: self.targets[from].name().clone(),
                to: self.targets[index].name().clone(),
                failure,
            });
        }
        let target = &self.targets[index];
        if target.is_available() {
            return true;
        }
        let reason = target.skip_reason();
        self.push(index, AttemptOutcome::Skipped(reason), Instant::now());
        self.leaving = Some((index, None));
        false
    }

    /// Calls target `index`, which [`Run::consider`] found available.
    pub(super) fn start<R, F, Fut>(&mut self, index: usize, call: &mut F) -> Fut
    where
        F: FnMut(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        self.calls += 1;
        self.in_flight.push((index, Instant::now()));
        let attempt = self.calls;
        call(
            &self.targets[index],
            AttemptInfo {
                index,
                attempt,
                pass: 0,
            },
        )
    }

    /// Considers the targets of `order` until one is available, and calls it.
    pub(super) fn start_next<R, I, F, Fut>(
        &mut self,
        order: &mut I,
        call: &mut F,
    ) -> Option<impl Future<Output = (usize, Result<R, E>)> + use<R, I, F, Fut, T, E>>
    where
        I: Iterator<Item = usize>,
        F: FnMut(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let index = order.by_ref().find(|&index| self.consider(index))?;
        Some(self.start_tagged(index, call))
    }

    /// Calls target `index` like [`Run::start`], tagging the output with `index`.
    pub(super) fn start_tagged<R, F, Fut>(
        &mut self,
        index: usize,
        call: &mut F,
    ) -> impl Future<Output = (usize, Result<R, E>)> + use<R, F, Fut, T, E>
    where
        F: FnMut(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        tagged(index, self.start(index, call))
    }

    /// Records the success of target `index`.
    pub(super) fn served(&mut self, index: usize) {
        let started = self.finish(index);
        self.push(index, AttemptOutcome::Served, started);
    }

    /// Records what became of a call of target `index` that gave `error`,
    /// and returns the failure that ends the run, if it does: one the run
    /// does not fall back on. An error saying the target was passed over
    /// ([`AsFailure::passed_over`]) is a skip, not a failure: recorded as
    /// [`AttemptOutcome::Skipped`], not counted as a call, and the run
    /// moves on whatever `fallback_on` says.
    pub(super) fn failed(&mut self, index: usize, error: E) -> Option<Failure> {
        let started = self.finish(index);
        if let Some(reason) = error.passed_over() {
            self.calls -= 1;
            self.push(index, AttemptOutcome::Skipped(reason), started);
            self.leaving = Some((index, None));
            return None;
        }
        let failure = error.as_failure();
        self.push(index, AttemptOutcome::Failed(failure), started);
        self.last_error = Some(error);
        self.leaving = Some((index, Some(failure)));
        (!self.fallback_on.allows(&failure)).then_some(failure)
    }

    /// Calls made so far.
    pub(super) fn calls(&self) -> u32 {
        self.calls
    }

    /// Ends the run with `value` from target `index`, cancelling the rest.
    pub(super) fn success<R>(mut self, index: usize, value: R) -> Success<R> {
        self.served(index);
        Success {
            value,
            target_index: index,
            attempts: self.into_attempts().0,
        }
    }

    /// Ends the run without an answer, cancelling calls still running.
    pub(super) fn all_failed(self, reason: StopReason) -> AllFailed<E> {
        let (attempts, last_error) = self.into_attempts();
        AllFailed {
            attempts,
            last_error,
            reason,
        }
    }

    /// Ends the run once no target is left to call.
    pub(super) fn exhausted(self) -> AllFailed<E> {
        let reason = if self.attempts.is_empty() && self.in_flight.is_empty() {
            StopReason::NoTargets
        } else if self.calls == 0 {
            StopReason::NoneAvailable
        } else {
            StopReason::Exhausted
        };
        self.all_failed(reason)
    }

    /// Ends the run at its deadline: calls still running timed out, those
    /// that ended keep their own outcome.
    pub(super) fn timed_out(mut self) -> AllFailed<E> {
        self.time_out_in_flight();
        self.all_failed(StopReason::TimedOut)
    }

    /// Records the calls still running as timeouts.
    pub(super) fn time_out_in_flight(&mut self) {
        for (index, started) in std::mem::take(&mut self.in_flight) {
            self.push(index, AttemptOutcome::Failed(Failure::timeout()), started);
        }
    }

    /// The attempts, with calls still running recorded as cancelled, and the
    /// last error.
    pub(super) fn into_attempts(mut self) -> (Vec<Attempt>, Option<E>) {
        for (index, started) in std::mem::take(&mut self.in_flight) {
            self.push(index, AttemptOutcome::Cancelled, started);
        }
        (self.attempts, self.last_error)
    }

    fn finish(&mut self, index: usize) -> Instant {
        match self.in_flight.iter().position(|&(i, _)| i == index) {
            Some(position) => self.in_flight.remove(position).1,
            None => Instant::now(),
        }
    }

    fn push(&mut self, index: usize, outcome: AttemptOutcome, started: Instant) {
        self.attempts.push(Attempt {
            target: self.targets[index].name().clone(),
            index,
            outcome,
            elapsed: started.elapsed(),
        });
    }
}

/// Polls `future` until it is ready, or until `deadline` passes first
/// (`None`). Both stay where they are pinned: a call's future, often large,
/// is not moved again.
pub(super) fn until<'a, F: Future>(
    mut deadline: Pin<&'a mut Option<Sleep>>,
    mut future: Pin<&'a mut F>,
) -> impl Future<Output = Option<F::Output>> + 'a {
    poll_fn(move |cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        match deadline.as_mut().as_pin_mut().map(|sleep| sleep.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
}

/// Tags a call's output with its target's index.
async fn tagged<Fut: Future>(index: usize, call: Fut) -> (usize, Fut::Output) {
    (index, call.await)
}
