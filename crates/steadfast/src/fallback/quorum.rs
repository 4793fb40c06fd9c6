//! Quorum: ask several targets at once and wait for `k` successes, for
//! multi-model voting.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

use super::attempt::{Attempt, AttemptInfo, FailoverOn};
use super::run::{Common, Run, until};
use super::{Fallback, Scope, Target};
use crate::Failure;
use crate::classify::AsFailure;
use crate::events::Events;

/// Calls `n` available targets at once (by default all) and waits for `k`
/// successes, optionally within a deadline. When fewer than `k` targets are
/// available it fails without calling any.
///
/// The result type differs from the other strategies ([`QuorumSuccess`] holds
/// `k` values), so `Quorum` is not part of [`Strategy`](super::Strategy).
/// As soon as `k` successes arrived the other calls are dropped; as soon as
/// `k` can no longer be reached (successes plus calls still running fall
/// below `k`), at the deadline, or at a failure the [`FailoverOn`] predicate
/// rejects, the run fails with [`QuorumFailed`].
#[derive(Debug, Clone)]
pub struct Quorum {
    common: Common,
    needed: usize,
    fan_out: usize,
    deadline: Option<Duration>,
}

/// A quorum reached.
#[derive(Debug)]
pub struct QuorumSuccess<R> {
    /// Exactly `k` answers with the index of the target that gave each, in arrival order.
    pub values: Vec<(usize, R)>,
    /// Every attempt, in the order each ended (cancelled ones last).
    pub attempts: Vec<Attempt>,
}

/// Why a quorum was not reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumMiss {
    /// Too few targets were available, or too many calls failed, to reach `k`.
    Unreachable,
    /// The deadline passed first.
    Deadline,
    /// A failure that no other target would mend.
    NotFailover(Failure),
}

/// A quorum not reached.
#[derive(Debug)]
pub struct QuorumFailed<E> {
    /// Successes needed (`k`).
    pub needed: usize,
    /// Successes received.
    pub got: usize,
    /// Every attempt, in the order each ended (cancelled ones last).
    pub attempts: Vec<Attempt>,
    /// The error of the last failed call, if any.
    pub last_error: Option<E>,
    /// Why the quorum was missed.
    pub reason: QuorumMiss,
}

impl<E> fmt::Display for QuorumFailed<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (needed, got) = (self.needed, self.got);
        match self.reason {
            QuorumMiss::Unreachable => write!(f, "quorum unreachable: {got} of {needed} answers"),
            QuorumMiss::Deadline => write!(f, "quorum deadline passed: {got} of {needed} answers"),
            QuorumMiss::NotFailover(failure) => {
                write!(
                    f,
                    "quorum abandoned after {failure}: {got} of {needed} answers"
                )
            }
        }
    }
}

impl<E: fmt::Debug> std::error::Error for QuorumFailed<E> {}

impl Quorum {
    /// A strategy named `"quorum"` needing `k` successes (at least 1) from all
    /// available targets, with no deadline.
    pub fn new(k: usize) -> Quorum {
        Quorum {
            common: Common::new("quorum"),
            needed: k.max(1),
            fan_out: usize::MAX,
            deadline: None,
        }
    }

    super::common_setters!(Quorum);

    /// Calls at most the first `n` available targets.
    pub fn fan_out(mut self, n: usize) -> Quorum {
        self.fan_out = n;
        self
    }

    /// Fails when `k` successes have not arrived within `deadline` (or by
    /// the run's [`Scope`] deadline, whichever comes first); calls still
    /// running then are recorded as timeouts.
    pub fn deadline(mut self, deadline: Duration) -> Quorum {
        self.deadline = Some(deadline);
        self
    }

    super::run_by_fallback!(
        "Runs `call` on the targets until `k` succeed.",
        QuorumSuccess,
        QuorumFailed
    );
}

impl Fallback for Quorum {
    type Outcome<R, E> = Result<QuorumSuccess<R>, QuorumFailed<E>>;

    async fn run_in<T, R, E, F, Fut>(
        &self,
        scope: Scope<'_>,
        targets: &[T],
        mut call: F,
    ) -> Result<QuorumSuccess<R>, QuorumFailed<E>>
    where
        T: Target,
        E: AsFailure,
        F: FnMut(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let deadline = match (scope.deadline(), self.deadline) {
            (Some(at), Some(after)) => Some(at.min(Instant::now() + after)),
            (at, after) => at.or_else(|| after.map(|after| Instant::now() + after)),
        };
        let scope = match deadline {
            Some(deadline) => scope.until(deadline),
            None => scope,
        };
        let mut run = Run::new(targets, &self.common, scope);
        let mut deadline = pin!(run.deadline());
        let chosen: Vec<usize> = (0..targets.len())
            .filter(|&index| run.consider(index))
            .take(self.fan_out)
            .collect();
        let mut running = FuturesUnordered::new();
        if chosen.len() >= self.needed {
            for index in chosen {
                running.push(run.start_tagged(index, &mut call));
            }
        }
        let mut values = Vec::with_capacity(self.needed);
        let reason = loop {
            if values.len() + running.len() < self.needed {
                break QuorumMiss::Unreachable;
            }
            let Some(next) = until(deadline.as_mut(), pin!(running.next())).await else {
                run.time_out_in_flight();
                break QuorumMiss::Deadline;
            };
            let Some((index, result)) = next else {
                break QuorumMiss::Unreachable;
            };
            match result {
                Ok(value) => {
                    run.served(index);
                    values.push((index, value));
                    if values.len() == self.needed {
                        drop(running);
                        return Ok(QuorumSuccess {
                            values,
                            attempts: run.into_attempts().0,
                        });
                    }
                }
                Err(error) => {
                    if let Some(failure) = run.failed(index, error) {
                        break QuorumMiss::NotFailover(failure);
                    }
                }
            }
        };
        drop(running);
        let (attempts, last_error) = run.into_attempts();
        Err(QuorumFailed {
            needed: self.needed,
            got: values.len(),
            attempts,
            last_error,
            reason,
        })
    }
}
