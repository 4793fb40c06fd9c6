//! Permits: the right to make one call, and the duty to report its outcome.

use std::fmt;
use std::sync::Arc;

use super::machine::{Machine, Report, Ticket};
use crate::{Error, Failure, Outcome};

/// The right to make one call through a breaker, borrowed from it.
///
/// Report the call with [`record`](Permit::record) (or its shorthands).
/// Dropping the permit unrecorded counts as *cancelled*: not a failure, and it
/// frees its half-open probe slot. An outcome recorded after the breaker
/// changed state (or was reset) since the permit was granted is counted as
/// stale and judged in no window.
///
/// Use [`OwnedPermit`] (from [`Breaker::try_acquire_owned`](super::Breaker::try_acquire_owned))
/// to move a permit into a task or a stream.
#[must_use = "record the outcome of the call; dropping the permit counts as cancelled"]
pub struct Permit<'a> {
    machine: &'a Machine,
    report: Pending,
}

/// The right to make one call through a breaker, holding a handle to it. It
/// behaves as [`Permit`] and is `'static`.
#[must_use = "record the outcome of the call; dropping the permit counts as cancelled"]
pub struct OwnedPermit {
    machine: Arc<Machine>,
    report: Pending,
}

/// A ticket not yet reported.
#[derive(Debug)]
struct Pending {
    ticket: Ticket,
    done: bool,
}

impl Pending {
    #[inline]
    fn finish(&mut self, machine: &Machine, report: Report) {
        if !self.done {
            self.done = true;
            machine.finish(self.ticket, report);
        }
    }
}

/// How an [`Outcome`] is reported: failures that do not count against the
/// target are ignored.
fn report_of(outcome: Outcome) -> Report {
    match outcome {
        Outcome::Success => Report::Success,
        Outcome::Failure(failure) if failure.kind.counts_against_target() => Report::Failure,
        Outcome::Failure(_) => Report::Ignored,
    }
}

/// The reporting methods, the same for both kinds of permit.
macro_rules! reporting {
    ($permit:ident $(<$lt:lifetime>)?) => {
        impl $(<$lt>)? $permit $(<$lt>)? {
            /// Reports the call's outcome. A failure whose kind does not
            /// [count against the target](crate::FailureKind::counts_against_target)
            /// is recorded as ignored.
            #[inline]
            pub fn record(mut self, outcome: Outcome) {
                self.report.finish(&self.machine, report_of(outcome));
            }

            /// Reports a success.
            #[inline]
            pub fn record_success(mut self) {
                self.report.finish(&self.machine, Report::Success);
            }

            /// Reports a failure.
            #[inline]
            pub fn record_failure(mut self, failure: Failure) {
                self.report.finish(&self.machine, report_of(Outcome::Failure(failure)));
            }

            /// Reports a call whose outcome says nothing about the target (for
            /// example an inner policy refused it locally).
            #[inline]
            pub fn record_ignored(mut self) {
                self.report.finish(&self.machine, Report::Ignored);
            }

            /// Records `outcome` for `result`, ignoring local rejections by
            /// inner policies.
            pub(crate) fn settle<T>(self, result: &Result<T, Error>, outcome: Outcome) {
                match result {
                    Err(error) if error.is_local_rejection() => self.record_ignored(),
                    _ => self.record(outcome),
                }
            }
        }

        impl $(<$lt>)? Drop for $permit $(<$lt>)? {
            #[inline]
            fn drop(&mut self) {
                self.report.finish(&self.machine, Report::Cancelled);
            }
        }

        impl $(<$lt>)? fmt::Debug for $permit $(<$lt>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($permit))
                    .field("breaker", &self.machine.name)
                    .field("ticket", &self.report.ticket)
                    .finish()
            }
        }
    };
}

reporting!(Permit<'a>);
reporting!(OwnedPermit);

impl<'a> Permit<'a> {
    #[inline]
    pub(crate) fn new(machine: &'a Machine, ticket: Ticket) -> Permit<'a> {
        Permit {
            machine,
            report: Pending {
                ticket,
                done: false,
            },
        }
    }
}

impl OwnedPermit {
    #[inline]
    pub(crate) fn new(machine: Arc<Machine>, ticket: Ticket) -> OwnedPermit {
        OwnedPermit {
            machine,
            report: Pending {
                ticket,
                done: false,
            },
        }
    }
}
