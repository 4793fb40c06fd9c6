//! What every strategy offers a caller that runs it more than once (retry
//! passes, [`RetryPolicy::passes`](crate::retry::RetryPolicy::passes)): a run
//! within a [`Scope`], and a report whose attempts add up across runs.

use std::future::Future;

use super::attempt::{AllFailed, Attempt, AttemptInfo, StopReason, Success};
use super::quorum::{QuorumFailed, QuorumMiss, QuorumSuccess};
use super::{Scope, Target};
use crate::classify::AsFailure;

/// A fallback strategy: runs a call over targets until it has its answer.
/// Implemented by every strategy of this module.
pub trait Fallback {
    /// What a run returns for calls answering `R` or failing with `E`.
    type Outcome<R, E>: PassOutcome;

    /// Runs `call` on the targets of `scope` among `targets`, until
    /// `scope`'s deadline at the latest.
    fn run_in<T, R, E, F, Fut>(
        &self,
        scope: Scope<'_>,
        targets: &[T],
        call: F,
    ) -> impl Future<Output = Self::Outcome<R, E>>
    where
        T: Target,
        E: AsFailure,
        F: FnMut(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>;
}

/// A run's report as retry passes read and extend it: the results of the
/// strategies (`Result<Success, AllFailed>`, `Result<QuorumSuccess, QuorumFailed>`).
pub trait PassOutcome {
    /// Every attempt of the run(s) it reports.
    fn attempts(&self) -> &[Attempt];

    /// Whether the run got its answer.
    fn answered(&self) -> bool;

    /// Whether no further pass may change it: it has its answer, a failure no
    /// other target mends ended it, or its deadline passed.
    fn is_final(&self) -> bool;

    /// Puts `attempts` (made earlier) before the report's own.
    fn prepend(&mut self, attempts: Vec<Attempt>);

    /// Takes the report of an earlier pass in: its attempts first, and its
    /// last error when this run has none.
    fn follow(&mut self, earlier: Self);
}

/// The attempts a run reports, answered or not.
pub trait RunReport {
    /// Every attempt, in the order each ended.
    fn attempts(&self) -> &[Attempt];

    /// The attempts, to extend.
    fn attempts_mut(&mut self) -> &mut Vec<Attempt>;
}

/// A run that ended without its answer.
pub trait MissedRun: RunReport {
    /// The error of the calls.
    type Error;

    /// The error of the last failed call.
    fn last_error_mut(&mut self) -> &mut Option<Self::Error>;

    /// Whether it ended for a reason another pass would not change: a
    /// failure no other target mends, or the deadline.
    fn is_final(&self) -> bool;
}

impl<S: RunReport, M: MissedRun> PassOutcome for Result<S, M> {
    fn attempts(&self) -> &[Attempt] {
        match self {
            Ok(success) => success.attempts(),
            Err(missed) => missed.attempts(),
        }
    }

    fn answered(&self) -> bool {
        self.is_ok()
    }

    fn is_final(&self) -> bool {
        self.as_ref().map_or_else(MissedRun::is_final, |_| true)
    }

    fn prepend(&mut self, attempts: Vec<Attempt>) {
        let own = match self {
            Ok(success) => success.attempts_mut(),
            Err(missed) => missed.attempts_mut(),
        };
        own.splice(0..0, attempts);
    }

    fn follow(&mut self, earlier: Self) {
        let (attempts, error) = match earlier {
            Ok(mut success) => (std::mem::take(success.attempts_mut()), None),
            Err(mut missed) => (
                std::mem::take(missed.attempts_mut()),
                missed.last_error_mut().take(),
            ),
        };
        if let Err(missed) = self {
            let last = missed.last_error_mut();
            if last.is_none() {
                *last = error;
            }
        }
        self.prepend(attempts);
    }
}

/// Implements [`RunReport`] for reports with an `attempts` field.
macro_rules! run_report {
    ($($report:ident<$param:ident>),*) => {$(
        impl<$param> RunReport for $report<$param> {
            fn attempts(&self) -> &[Attempt] {
                &self.attempts
            }

            fn attempts_mut(&mut self) -> &mut Vec<Attempt> {
                &mut self.attempts
            }
        }
    )*};
}

run_report!(Success<R>, AllFailed<E>, QuorumSuccess<R>, QuorumFailed<E>);

/// Implements [`MissedRun`] for a report with a `last_error` field, final
/// for the reasons matching `$final`.
macro_rules! missed_run {
    ($($report:ident: $final:pat),*) => {$(
        impl<E> MissedRun for $report<E> {
            type Error = E;

            fn last_error_mut(&mut self) -> &mut Option<E> {
                &mut self.last_error
            }

            fn is_final(&self) -> bool {
                matches!(self.reason, $final)
            }
        }
    )*};
}

missed_run!(
    AllFailed: StopReason::NotFailover(_) | StopReason::TimedOut,
    QuorumFailed: QuorumMiss::NotFailover(_) | QuorumMiss::Deadline
);
