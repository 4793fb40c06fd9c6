//! The hedging policy as a tower middleware.

use std::future::Future;

use super::HedgePolicy;
use crate::Error;
use crate::classify::{ByFailure, Classify};
use crate::policy_layer::{AttemptPolicy, PolicyLayer, PolicyService};

/// Wraps services in [`Hedge`].
pub type HedgeLayer<C = ByFailure> = PolicyLayer<HedgePolicy, C>;

/// A service that hedges slow calls to its inner service. Each extra attempt
/// uses a clone of the inner service (driven to readiness) and of the request.
pub type Hedge<S, C = ByFailure> = PolicyService<S, HedgePolicy, C>;

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
