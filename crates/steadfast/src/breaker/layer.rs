//! The circuit breaker as a tower middleware.

use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::Breaker;
use super::future::ResponseFuture;
use crate::classify::{AsFailure, ByFailure, Classify};
use crate::{BoxError, Error};

/// Wraps services in a [`BreakerService`] sharing one [`Breaker`]; made by
/// [`BreakerLayer::new`] or [`Breaker::layer`].
///
/// ```
/// use steadfast::breaker::{Breaker, BreakerLayer};
/// use tower::{ServiceBuilder, service_fn};
///
/// let breaker = Breaker::builder("gpt").build();
/// let service = ServiceBuilder::new()
///     .layer(BreakerLayer::new(breaker))
///     .service(service_fn(|prompt: String| async move { Ok::<_, std::io::Error>(prompt) }));
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct BreakerLayer<C = ByFailure> {
    breaker: Breaker,
    classifier: C,
}

impl BreakerLayer {
    /// A layer judging responses with [`ByFailure`]: `Ok` is a success, an
    /// error of the inner service by its own [`AsFailure`](crate::classify::AsFailure) answer.
    pub fn new(breaker: Breaker) -> BreakerLayer {
        BreakerLayer {
            breaker,
            classifier: ByFailure,
        }
    }
}

impl<C> BreakerLayer<C> {
    /// Judges results with `classifier` instead (for example to count some
    /// `Ok` responses as failures).
    pub fn with_classifier<D>(self, classifier: D) -> BreakerLayer<D> {
        BreakerLayer {
            breaker: self.breaker,
            classifier,
        }
    }
}

impl Breaker {
    /// A tower layer sharing this breaker among the services it wraps:
    /// [`BreakerLayer::new`] of a clone.
    pub fn layer(&self) -> BreakerLayer {
        BreakerLayer::new(self.clone())
    }
}

impl<S, C: Clone> Layer<S> for BreakerLayer<C> {
    type Service = BreakerService<S, C>;

    fn layer(&self, inner: S) -> BreakerService<S, C> {
        BreakerService {
            inner,
            breaker: self.breaker.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// A service that refuses requests while its [`Breaker`] is open and reports
/// every response to it.
///
/// `poll_ready` only polls the inner service; the permit is taken in `call`,
/// and a refused request gets a future that is ready with
/// [`Error::BreakerOpen`] without reaching the inner service.
#[derive(Debug, Clone)]
pub struct BreakerService<S, C = ByFailure> {
    inner: S,
    breaker: Breaker,
    classifier: C,
}

impl<S> BreakerService<S> {
    /// Wraps `inner`, judging with [`ByFailure`].
    pub fn new(inner: S, breaker: Breaker) -> BreakerService<S> {
        BreakerLayer::new(breaker).layer(inner)
    }
}

impl<S, C> BreakerService<S, C> {
    /// The breaker in use.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
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

impl<S, C, Request> Service<Request> for BreakerService<S, C>
where
    S: Service<Request>,
    S::Error: AsFailure + Into<BoxError>,
    C: Classify<S::Response, Error> + Clone,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::judged)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.breaker.try_acquire_owned() {
            Ok(permit) => {
                ResponseFuture::called(self.inner.call(request), permit, self.classifier.clone())
            }
            Err(open) => ResponseFuture::rejected(open),
        }
    }
}
