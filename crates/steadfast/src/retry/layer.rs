//! The retry policy as a tower middleware.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::poll_fn;
use tower_layer::Layer;
use tower_service::Service;

use super::RetryPolicy;
use crate::classify::{ByFailure, Classify, Failure};
use crate::error::{BoxError, Error};

/// The future of a [`Retry`] service.
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// Wraps services in [`Retry`].
#[derive(Debug, Clone)]
pub struct RetryLayer<C = ByFailure> {
    policy: RetryPolicy,
    classifier: C,
}

impl RetryLayer {
    /// A layer retrying with `policy`, judging results by [`Error::failure`].
    pub fn new(policy: RetryPolicy) -> RetryLayer {
        RetryLayer {
            policy,
            classifier: ByFailure,
        }
    }
}

impl<C> RetryLayer<C> {
    /// This layer with `classifier` judging each response.
    pub fn with_classifier<C2>(self, classifier: C2) -> RetryLayer<C2> {
        RetryLayer {
            policy: self.policy,
            classifier,
        }
    }
}

impl<S, C: Clone> Layer<S> for RetryLayer<C> {
    type Service = Retry<S, C>;

    fn layer(&self, inner: S) -> Retry<S, C> {
        Retry {
            inner,
            policy: self.policy.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// A service that retries calls to its inner service. Each attempt uses a
/// clone of the inner service (driven to readiness) and of the request.
#[derive(Debug, Clone)]
pub struct Retry<S, C = ByFailure> {
    inner: S,
    policy: RetryPolicy,
    classifier: C,
}

impl<S> Retry<S> {
    /// Wraps `inner` in `policy`.
    pub fn new(inner: S, policy: RetryPolicy) -> Retry<S> {
        RetryLayer::new(policy).layer(inner)
    }
}

impl<S, C> Retry<S, C> {
    /// The retry policy, for its statistics.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

impl<S, C, Req> Service<Req> for Retry<S, C>
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
                .call_classified(&classifier, move || attempts.next(request.clone()))
                .await
        })
    }
}

/// The services for the attempts of one call: the one driven to readiness
/// serves the first attempt; later attempts use clones of `template`, driven to
/// readiness each time. Shared with hedging.
pub(crate) struct Attempts<S> {
    ready: Option<S>,
    template: S,
}

impl<S: Clone> Attempts<S> {
    /// Takes the ready service out of `inner`, leaving a clone in its place.
    pub(crate) fn take(inner: &mut S) -> Attempts<S> {
        let template = inner.clone();
        let ready = std::mem::replace(inner, template.clone());
        Attempts {
            ready: Some(ready),
            template,
        }
    }

    /// Sends `request` on the next attempt's service.
    pub(crate) fn next<Req>(
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
