//! Parallel race: every available target at once, first success wins.

use std::future::Future;
use std::pin::pin;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::attempt::{AllFailed, AttemptInfo, FailoverOn, StopReason, Success};
use super::run::{Common, Run, until};
use super::{Fallback, Scope, Target};
use crate::classify::AsFailure;
use crate::events::Events;

/// Calls every available target (or the first `fan_out` available ones) at
/// once; the first success wins and the other calls are dropped at once.
///
/// The run fails when every call failed, or at the first failure the
/// [`FailoverOn`] predicate rejects (dropping the calls still running).
#[derive(Debug, Clone)]
pub struct Parallel {
    common: Common,
    fan_out: usize,
}

impl Default for Parallel {
    fn default() -> Parallel {
        Parallel::new()
    }
}

impl Parallel {
    /// A strategy named `"parallel"` racing every available target.
    pub fn new() -> Parallel {
        Parallel {
            common: Common::new("parallel"),
            fan_out: usize::MAX,
        }
    }

    super::common_setters!(Parallel);

    /// Races at most the first `fan_out` available targets (at least 1).
    pub fn fan_out(mut self, fan_out: usize) -> Parallel {
        self.fan_out = fan_out.max(1);
        self
    }

    super::run_by_fallback!("Races `call` on the targets; the first success wins.");
}

impl Fallback for Parallel {
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
        let mut run = Run::new(targets, &self.common, scope);
        let mut deadline = pin!(run.deadline());
        let mut racing = FuturesUnordered::new();
        let mut order = 0..targets.len();
        while racing.len() < self.fan_out {
            match run.start_next(&mut order, &mut call) {
                Some(started) => racing.push(started),
                None => break,
            }
        }
        loop {
            let Some(next) = until(deadline.as_mut(), pin!(racing.next())).await else {
                drop(racing);
                return Err(run.timed_out());
            };
            let Some((index, result)) = next else { break };
            match result {
                Ok(value) => {
                    drop(racing);
                    return Ok(run.success(index, value));
                }
                Err(error) => {
                    if let Some(failure) = run.failed(index, error) {
                        drop(racing);
                        return Err(run.all_failed(StopReason::NotFailover(failure)));
                    }
                }
            }
        }
        Err(run.exhausted())
    }
}
