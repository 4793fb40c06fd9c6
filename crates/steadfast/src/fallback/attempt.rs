//! What every strategy reports: the attempts it made, and its success or
//! failure, plus the predicate deciding which failures move on.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{Failure, FailureKind, SkipReason};

/// What the call closure is told about the attempt it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptInfo {
    /// The target's position in the slice given to `run`.
    pub index: usize,
    /// The number of this call in the run, counting from 1 (skips do not count).
    pub attempt: u32,
    /// The retry pass the run is, counting from 0 (always 0 outside
    /// [`RetryPolicy::passes`](crate::retry::RetryPolicy::passes)).
    pub pass: u32,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The target answered with a success.
    Served,
    /// The target answered with a failure.
    Failed(Failure),
    /// The target was passed over, for this reason: unavailable before the
    /// call ([`Target::skip_reason`](super::Target::skip_reason)), or its call said so
    /// ([`AsFailure::passed_over`](crate::classify::AsFailure::passed_over)).
    Skipped(SkipReason),
    /// The attempt was running when the run ended with an answer, and was dropped.
    Cancelled,
}

impl AttemptOutcome {
    /// Whether the target was called: it answered, failed or was cancelled.
    pub fn was_called(self) -> bool {
        !matches!(self, AttemptOutcome::Skipped(_))
    }
}

/// One target tried (or passed over) during a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The target's name.
    pub target: Arc<str>,
    /// The target's position in the slice given to `run`.
    pub index: usize,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// How long it ran; zero for a target unavailable before the call.
    pub elapsed: Duration,
}

/// A run that got an answer.
#[derive(Debug)]
pub struct Success<R> {
    /// The answer.
    pub value: R,
    /// The index of the target that gave it.
    pub target_index: usize,
    /// Every attempt, in the order each ended (cancelled ones last).
    pub attempts: Vec<Attempt>,
}

/// Why a run ended without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The run was given no targets.
    NoTargets,
    /// Every target considered was unavailable.
    NoneAvailable,
    /// Every target called failed.
    Exhausted,
    /// A failure that another target would not mend (see [`FailoverOn`]).
    NotFailover(Failure),
    /// The run's deadline passed; calls still running were recorded as timeouts.
    TimedOut,
}

/// A run that got no answer.
#[derive(Debug)]
pub struct AllFailed<E> {
    /// Every attempt, in the order each ended.
    pub attempts: Vec<Attempt>,
    /// The error of the last failed call; `None` when no target was called.
    pub last_error: Option<E>,
    /// Why the run stopped.
    pub reason: StopReason,
}

impl<E> AllFailed<E> {
    /// The failure of the last failed call, if any target was called.
    pub fn failure(&self) -> Option<Failure> {
        self.attempts
            .iter()
            .rev()
            .find_map(|attempt| match attempt.outcome {
                AttemptOutcome::Failed(failure) => Some(failure),
                _ => None,
            })
    }
}

impl<E: fmt::Display> fmt::Display for AllFailed<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            StopReason::NoTargets => f.write_str("no targets to call"),
            StopReason::NoneAvailable => f.write_str("no target available"),
            StopReason::Exhausted => write!(f, "all {} targets failed", self.attempts.len()),
            StopReason::NotFailover(failure) => {
                write!(f, "failure that no other target can mend ({failure})")
            }
            StopReason::TimedOut => f.write_str("deadline passed"),
        }?;
        match &self.last_error {
            Some(error) => write!(f, ": {error}"),
            None => Ok(()),
        }
    }
}

impl<E> std::error::Error for AllFailed<E>
where
    E: std::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.last_error
            .as_ref()
            .map(|error| error as &(dyn std::error::Error + 'static))
    }
}

/// Decides which failures move a run on to the next target; the others end it
/// at once. The default moves on when the kind
/// [allows failover](FailureKind::allows_failover).
#[derive(Clone)]
pub struct FailoverOn(Arc<dyn Fn(&Failure) -> bool + Send + Sync>);

impl FailoverOn {
    /// Moves on only for failures of these kinds.
    pub fn kinds(kinds: impl IntoIterator<Item = FailureKind>) -> FailoverOn {
        let kinds: Vec<FailureKind> = kinds.into_iter().collect();
        FailoverOn::from_fn(move |failure| kinds.contains(&failure.kind))
    }

    /// Moves on when `predicate` says so.
    pub fn from_fn(predicate: impl Fn(&Failure) -> bool + Send + Sync + 'static) -> FailoverOn {
        FailoverOn(Arc::new(predicate))
    }

    /// Whether a run moves on after `failure`.
    pub fn allows(&self, failure: &Failure) -> bool {
        (self.0)(failure)
    }
}

impl Default for FailoverOn {
    fn default() -> FailoverOn {
        FailoverOn::from_fn(|failure| failure.kind.allows_failover())
    }
}

impl fmt::Debug for FailoverOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FailoverOn(..)")
    }
}
