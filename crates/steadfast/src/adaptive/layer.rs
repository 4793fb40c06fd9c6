//! The tower layer and service of the adaptive concurrency limit.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::AdaptiveLimit;
use crate::classify::{AsFailure, ByFailure, Classify};
use crate::{BoxError, Error};

/// The response of an [`AdaptiveLimitService`]: waits for a place, calls the
/// inner service while holding it, and teaches the limit how the call ended.
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// Wraps services in an [`AdaptiveLimitService`] sharing one
/// [`AdaptiveLimit`]; made by [`AdaptiveLimitLayer::new`] or
/// [`AdaptiveLimit::layer`].
#[derive(Debug, Clone)]
pub struct AdaptiveLimitLayer<C = ByFailure> {
    limit: AdaptiveLimit,
    classifier: C,
}

impl AdaptiveLimitLayer {
    /// A layer sharing `limit`, judging results by their [`AsFailure`]
    /// answer (`Ok` is a success).
    pub fn new(limit: AdaptiveLimit) -> AdaptiveLimitLayer {
        AdaptiveLimitLayer {
            limit,
            classifier: ByFailure,
        }
    }
}

impl<C> AdaptiveLimitLayer<C> {
    /// This layer with `classifier` judging each result instead, e.g. an
    /// HTTP response of status 429 as `RateLimited`.
    pub fn with_classifier<D>(self, classifier: D) -> AdaptiveLimitLayer<D> {
        AdaptiveLimitLayer {
            limit: self.limit,
            classifier,
        }
    }
}

impl<S, C: Clone> Layer<S> for AdaptiveLimitLayer<C> {
    type Service = AdaptiveLimitService<S, C>;

    fn layer(&self, inner: S) -> AdaptiveLimitService<S, C> {
        AdaptiveLimitService {
            limit: self.limit.clone(),
            classifier: self.classifier.clone(),
            inner,
        }
    }
}

/// A service that puts every request under an [`AdaptiveLimit`].
#[derive(Debug, Clone)]
pub struct AdaptiveLimitService<S, C = ByFailure> {
    limit: AdaptiveLimit,
    classifier: C,
    inner: S,
}

impl<S> AdaptiveLimitService<S> {
    /// Wraps `inner` under `limit`, judging results by their [`AsFailure`]
    /// answer.
    pub fn new(inner: S, limit: AdaptiveLimit) -> AdaptiveLimitService<S> {
        AdaptiveLimitLayer::new(limit).layer(inner)
    }
}

impl<S, C> AdaptiveLimitService<S, C> {
    /// The limit in use.
    pub fn limit(&self) -> &AdaptiveLimit {
        &self.limit
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// `poll_ready` only asks the inner service; the place is taken inside the
/// response future, so the queue limit and timeout apply to each call.
impl<S, C, Request> Service<Request> for AdaptiveLimitService<S, C>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Error: AsFailure + Into<BoxError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    C: Classify<S::Response, Error> + Clone + Send + Sync + 'static,
    Request: Send + 'static,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::judged)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // Call the clone that was made ready, leave a fresh clone in its place.
        let fresh = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, fresh);
        let limit = self.limit.clone();
        let classifier = self.classifier.clone();
        Box::pin(async move {
            let permit = limit.acquire().await?;
            let result = ready.call(request).await.map_err(Error::judged);
            permit.record(&classifier.classify(&result));
            result
        })
    }
}
