//! Sequential fallback: targets in priority order, one at a time.

use std::future::Future;
use std::pin::pin;

use super::attempt::{AllFailed, AttemptInfo, FailoverOn, StopReason, Success};
use super::run::{Common, Run, until};
use super::{Fallback, Scope, Target};
use crate::classify::AsFailure;
use crate::events::Events;

/// Calls the targets one at a time in the order given, until one succeeds.
///
/// Unavailable targets are skipped without a call. A failure the
/// [`FailoverOn`] predicate rejects (by default an
/// [`InvalidRequest`](crate::FailureKind::InvalidRequest)) ends the
/// run at once with that error.
#[derive(Debug, Clone)]
pub struct Sequential {
    common: Common,
}

impl Default for Sequential {
    fn default() -> Sequential {
        Sequential::new()
    }
}

impl Sequential {
    /// A strategy named `"sequential"` with the default [`FailoverOn`].
    pub fn new() -> Sequential {
        Sequential {
            common: Common::new("sequential"),
        }
    }

    super::common_setters!(Sequential);

    super::run_by_fallback!("Runs `call` on `targets` in order until one succeeds.");
}

impl Fallback for Sequential {
    type Outcome<R, E> = Result<Success<R>, AllFailed<E>>;

    async fn run_in<T, R, E, F, Fut>(
        &self,
        scope: Scope<'_>,
        targets: &[T],
        call: F,
    ) -> Result<Success<R>, AllFailed<E>>
    where
        T: Target,
        E: AsFailure,
        F: FnMut(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        in_order(&self.common, scope, targets, 0..targets.len(), call).await
    }
}

/// Calls the targets of `order` one at a time until one succeeds.
pub(super) async fn in_order<T, R, E, F, Fut>(
    common: &Common,
    scope: Scope<'_>,
    targets: &[T],
    order: impl IntoIterator<Item = usize>,
    mut call: F,
) -> Result<Success<R>, AllFailed<E>>
where
    T: Target,
    E: AsFailure,
    F: FnMut(&T, AttemptInfo) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let mut run = Run::new(targets, common, scope);
    let mut deadline = pin!(run.deadline());
    for index in order {
        if !run.consider(index) {
            continue;
        }
        let attempt = pin!(run.start(index, &mut call));
        let Some(result) = until(deadline.as_mut(), attempt).await else {
            return Err(run.timed_out());
        };
        match result {
            Ok(value) => return Ok(run.success(index, value)),
            Err(error) => {
                if let Some(failure) = run.failed(index, error) {
                    return Err(run.all_failed(StopReason::NotFailover(failure)));
                }
            }
        }
    }
    Err(run.exhausted())
}
