//! The hedging policy as a tower middleware.

use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::HedgePolicy;
use crate::classify::{ByFailure, Classify, Failure};
use crate::error::{BoxError, Error};
use crate::retry::ResponseFuture;
use crate::retry::layer::Attempts;

/// Wraps services in [`Hedge`].
#[derive(Debug, Clone)]
pub struct HedgeLayer<C = ByFailure> {
    policy: HedgePolicy,
    classifier: C,
}

impl HedgeLayer {
    /// A layer hedging with `policy`; any error is a failure.
    pub fn new(policy: HedgePolicy) -> HedgeLayer {
        HedgeLayer {
            policy,
            classifier: ByFailure,
        }
    }
}

impl<C> HedgeLayer<C> {
    /// This layer with `classifier` deciding which responses are successes.
    pub fn with_classifier<C2>(self, classifier: C2) -> HedgeLayer<C2> {
        HedgeLayer {
            policy: self.policy,
            classifier,
        }
    }
}

impl<S, C: Clone> Layer<S> for HedgeLayer<C> {
    type Service = Hedge<S, C>;

    fn layer(&self, inner: S) -> Hedge<S, C> {
        Hedge {
            inner,
            policy: self.policy.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// A service that hedges slow calls to its inner service. Each extra attempt
/// uses a clone of the inner service (driven to readiness) and of the request.
#[derive(Debug, Clone)]
pub struct Hedge<S, C = ByFailure> {
    inner: S,
    policy: HedgePolicy,
    classifier: C,
}

impl<S> Hedge<S> {
    /// Wraps `inner` in `policy`.
    pub fn new(inner: S, policy: HedgePolicy) -> Hedge<S> {
        HedgeLayer::new(policy).layer(inner)
    }
}

impl<S, C> Hedge<S, C> {
    /// The hedging policy, for its statistics and latency tracker.
    pub fn policy(&self) -> &HedgePolicy {
        &self.policy
    }
}

impl<S, C, Req> Service<Req> for Hedge<S, C>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    S::Error: Into<BoxError>,
    Req: Clone + Send + 'static,
    C: Classify<S::Response, Error> + Clone + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|e| Error::from_boxed(e.into(), Failure::transient()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let mut attempts = Attempts::take(&mut self.inner);
        let policy = self.policy.clone();
        let classifier = self.classifier.clone();
        Box::pin(async move {
            policy
                .call_classified(&classifier, move |_| attempts.next(request.clone()))
                .await
        })
    }
}
