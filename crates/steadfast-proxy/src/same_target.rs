//! Same-target retries (`retry.same_target` on a route): a target whose
//! failure says "try again soon" is tried once more before the route moves
//! on — the wait its `Retry-After` asks for, when that is at most
//! `max_wait`, or the route's first backoff after a 5xx or a reset that
//! asked for none. A timeout is not retried on the spot (a silent provider
//! stays silent), nor a rate limit without a wait, nor anything that is not
//! worth a retry. The retry comes out of the route's retry budget and must
//! fit in its time budget; failing over at once stays the default.

use std::time::Duration;

use steadfast::FailureKind;
use tokio::time::Instant;

use crate::error::AttemptError;
use crate::runtime::Route;

/// The wait before retrying the target that failed with `error`, if it is
/// to be retried now (the retry budget is then drawn on).
pub(crate) fn wait(route: &Route, error: &AttemptError, deadline: Instant) -> Option<Duration> {
    let same = route.settings.retry.same_target.as_ref()?;
    if error.skip().is_some() {
        return None;
    }
    let failure = error.failure;
    let wait = match (failure.kind, failure.retry_after) {
        (
            FailureKind::RateLimited | FailureKind::Overloaded | FailureKind::Transient,
            Some(after),
        ) => (after <= same.max_wait.0).then_some(after)?,
        (FailureKind::Overloaded | FailureKind::Transient, None) => {
            route.backoff.delay(1, Duration::ZERO, &route.rng)
        }
        _ => return None,
    };
    if Instant::now() + wait >= deadline || !route.budget.try_withdraw() {
        return None;
    }
    Some(wait)
}
