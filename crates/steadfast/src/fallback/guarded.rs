//! A target guarded by its own circuit breaker, ready to use with any
//! strategy.

use std::future::Future;
use std::sync::Arc;

use super::{SkipReason, Target};
use crate::breaker::Breaker;
use crate::classify::AsFailure;
use crate::{BoxError, Error};

/// A target (a model client, say) guarded by its own [`Breaker`]: named as
/// its breaker, available while the breaker would let a call through, and
/// called through it with [`Guarded::call`] so the breaker judges every
/// outcome. A breaker that opens between the strategy's look and the call
/// refuses it as a local rejection, which the strategy records as a skip.
///
/// ```
/// use steadfast::breaker::Breaker;
/// use steadfast::fallback::{AttemptOutcome, Guarded, Sequential, SkipReason};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let models = [
///     Guarded::new("https://big.example", Breaker::builder("big").build()),
///     Guarded::new("https://small.example", Breaker::builder("small").build()),
/// ];
/// models[0].breaker().trip(); // the big model is down
/// let answer = Sequential::new()
///     .run(&models, |model, _| {
///         model.call(|url| async move { Ok::<_, std::io::Error>(format!("answered by {url}")) })
///     })
///     .await
///     .unwrap();
/// assert_eq!(answer.value, "answered by https://small.example");
/// assert_eq!(answer.attempts[0].outcome, AttemptOutcome::Skipped(SkipReason::BREAKER_OPEN));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Guarded<T> {
    inner: T,
    breaker: Breaker,
}

impl<T> Guarded<T> {
    /// `inner` guarded by `breaker` (whose name becomes the target's).
    pub fn new(inner: T, breaker: Breaker) -> Guarded<T> {
        Guarded { inner, breaker }
    }

    /// The guarded target.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// Its breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// Calls `op` on (a clone of) the guarded target through the breaker
    /// (see [`Breaker::call`]). The future owns what it needs, so it can be
    /// the call of any strategy.
    pub fn call<R, E, F, Fut>(
        &self,
        op: F,
    ) -> impl Future<Output = Result<R, Error>> + use<T, R, E, F, Fut>
    where
        T: Clone,
        F: FnOnce(T) -> Fut,
        Fut: Future<Output = Result<R, E>>,
        E: AsFailure + Into<BoxError>,
    {
        let breaker = self.breaker.clone();
        let inner = self.inner.clone();
        async move { breaker.call(|| op(inner)).await }
    }
}

impl<T> Target for Guarded<T> {
    fn name(&self) -> &Arc<str> {
        self.breaker.name()
    }

    fn is_available(&self) -> bool {
        self.breaker.would_admit()
    }

    fn skip_reason(&self) -> SkipReason {
        SkipReason::BREAKER_OPEN
    }
}
