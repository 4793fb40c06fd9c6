//! The tower middleware of the policies that run one call's attempts —
//! retry, hedging and the pipeline. Each is a [`PolicyLayer`] holding the
//! policy and a classifier, wrapping services in a [`PolicyService`]: the
//! first attempt uses the inner service driven to readiness by `poll_ready`,
//! every other attempt a clone of it (driven to readiness) and of the request.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::poll_fn;
use tower_layer::Layer;
use tower_service::Service;

use crate::classify::{ByFailure, Classify};
use crate::{BoxError, Error, Failure};

/// The future of a [`PolicyService`].
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// A policy that runs the attempts of one call: [`RetryPolicy`],
/// [`HedgePolicy`] and [`Pipeline`] implement it, and so can a policy of
/// yours to get a tower layer.
///
/// [`RetryPolicy`]: crate::retry::RetryPolicy
/// [`HedgePolicy`]: crate::hedge::HedgePolicy
/// [`Pipeline`]: crate::pipeline::Pipeline
pub trait AttemptPolicy: Clone + Send + Sync + 'static {
    /// Runs the call, making each attempt with `attempt` and judging its
    /// result with `classifier`.
    fn run_attempts<T, C, F, Fut>(
        &self,
        classifier: &C,
        attempt: F,
    ) -> impl Future<Output = Result<T, Error>> + Send
    where
        T: Send,
        C: Classify<T, Error> + Sync,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T, Error>> + Send;
}

/// Wraps services in a [`PolicyService`] running every call under `P`.
#[derive(Debug, Clone)]
pub struct PolicyLayer<P, C = ByFailure> {
    policy: P,
    classifier: C,
}

impl<P> PolicyLayer<P> {
    /// A layer running calls under `policy`, judging results by
    /// [`Error::failure`] (`Ok` is a success).
    pub fn new(policy: P) -> PolicyLayer<P> {
        PolicyLayer {
            policy,
            classifier: ByFailure,
        }
    }
}

impl<P, C> PolicyLayer<P, C> {
    /// This layer with `classifier` judging each response instead.
    pub fn with_classifier<D>(self, classifier: D) -> PolicyLayer<P, D> {
        PolicyLayer {
            policy: self.policy,
            classifier,
        }
    }
}

impl<S, P: Clone, C: Clone> Layer<S> for PolicyLayer<P, C> {
    type Service = PolicyService<S, P, C>;

    fn layer(&self, inner: S) -> PolicyService<S, P, C> {
        PolicyService {
            inner,
            policy: self.policy.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// A service running every call to its inner service under a policy.
#[derive(Debug, Clone)]
pub struct PolicyService<S, P, C = ByFailure> {
    inner: S,
    policy: P,
    classifier: C,
}

impl<S, P: Clone> PolicyService<S, P> {
    /// Wraps `inner` in `policy`, judging results by [`Error::failure`].
    pub fn new(inner: S, policy: P) -> PolicyService<S, P> {
        PolicyLayer::new(policy).layer(inner)
    }
}

impl<S, P, C> PolicyService<S, P, C> {
    /// The policy, for its statistics.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, P, C, Req> Service<Req> for PolicyService<S, P, C>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    S::Error: Into<BoxError>,
    Req: Clone + Send + 'static,
    P: AttemptPolicy,
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
                .run_attempts(&classifier, move || attempts.next(request.clone()))
                .await
        })
    }
}

/// The services for the attempts of one call: the one driven to readiness
/// serves the first attempt; later attempts use clones of `template`, driven to
/// readiness each time.
struct Attempts<S> {
    ready: Option<S>,
    template: S,
}

impl<S: Clone> Attempts<S> {
    /// Takes the ready service out of `inner`, leaving a clone in its place.
    fn take(inner: &mut S) -> Attempts<S> {
        let template = inner.clone();
        let ready = std::mem::replace(inner, template.clone());
        Attempts {
            ready: Some(ready),
            template,
        }
    }

    /// Sends `request` on the next attempt's service.
    fn next<Req>(
        &mut self,
        request: Req,
    ) -> impl Future<Output = Result<S::Response, Error>> + use<S, Req>
    where
        S: Service<Req>,
        S::Error: Into<BoxError>,
    {
        let first = self.ready.take();
        let is_ready = first.is_some();
        let mut service = first.unwrap_or_else(|| self.template.clone());
        async move {
            let to_error = |e: S::Error| Error::from_boxed(e.into(), Failure::transient());
            if !is_ready {
                poll_fn(|cx| service.poll_ready(cx))
                    .await
                    .map_err(to_error)?;
            }
            service.call(request).await.map_err(to_error)
        }
    }
}
