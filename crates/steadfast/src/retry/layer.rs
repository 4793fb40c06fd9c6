//! The retry policy as a tower middleware.

use std::future::Future;

use super::RetryPolicy;
use crate::Error;
use crate::classify::Classify;
use crate::policy_layer::{AttemptPolicy, attempt_middleware};

attempt_middleware! {
    policy: RetryPolicy,
    /// Wraps services in a [`RetryService`] sharing one [`RetryPolicy`]; made by
    /// [`RetryLayer::new`] or [`RetryPolicy::layer`].
    layer: RetryLayer,
    /// A service that retries calls to its inner service. Each attempt uses a
    /// clone of the inner service (driven to readiness) and of the request.
    service: RetryService,
}

impl AttemptPolicy for RetryPolicy {
    fn run_attempts<T, C, F, Fut>(
        &self,
        classifier: &C,
        attempt: F,
    ) -> impl Future<Output = Result<T, Error>> + Send
    where
        T: Send,
        C: Classify<T, Error> + Sync,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, Error>> + Send,
    {
        self.call_classified(classifier, attempt)
    }
}
