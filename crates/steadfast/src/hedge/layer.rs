//! The hedging policy as a tower middleware.

use std::future::Future;

use super::HedgePolicy;
use crate::Error;
use crate::classify::Classify;
use crate::policy_layer::{AttemptPolicy, attempt_middleware};

attempt_middleware! {
    policy: HedgePolicy,
    /// Wraps services in a [`HedgeService`] sharing one [`HedgePolicy`]; made by
    /// [`HedgeLayer::new`] or [`HedgePolicy::layer`].
    layer: HedgeLayer,
    /// A service that hedges slow calls to its inner service. Each extra attempt
    /// uses a clone of the inner service (driven to readiness) and of the request.
    service: HedgeService,
}

impl AttemptPolicy for HedgePolicy {
    fn run_attempts<T, C, F, Fut>(
        &self,
        classifier: &C,
        mut attempt: F,
    ) -> impl Future<Output = Result<T, Error>> + Send
    where
        T: Send,
        C: Classify<T, Error> + Sync,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, Error>> + Send,
    {
        self.call_classified(classifier, move |_| attempt())
    }
}
