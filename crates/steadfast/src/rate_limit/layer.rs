//! The tower layer and service of the rate limit.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::RateLimit;
use super::RateLimitExceeded;
use crate::classify::AsFailure;
use crate::{BoxError, Error};

/// Wraps services in a [`RateLimitService`] sharing one [`RateLimit`]'s
/// limiters; made by [`RateLimitLayer::new`] or [`RateLimit::layer`].
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    limit: RateLimit,
}

impl RateLimitLayer {
    /// A layer sharing `limit`'s limiters and events.
    pub fn new(limit: RateLimit) -> RateLimitLayer {
        RateLimitLayer { limit }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> RateLimitService<S> {
        RateLimitService {
            limit: self.limit.clone(),
            inner,
        }
    }
}

/// A service that puts every request through a [`RateLimit`], rejecting
/// (never waiting) with [`Error::RateLimited`]; each request takes one request
/// and one unit.
#[derive(Debug, Clone)]
pub struct RateLimitService<S> {
    limit: RateLimit,
    inner: S,
}

impl<S> RateLimitService<S> {
    /// Wraps `inner`, sharing `limit`'s limiters and events.
    pub fn new(inner: S, limit: RateLimit) -> RateLimitService<S> {
        RateLimitLayer::new(limit).layer(inner)
    }

    /// The rate limit in use.
    pub fn rate_limit(&self) -> &RateLimit {
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

impl<S, Request> Service<Request> for RateLimitService<S>
where
    S: Service<Request>,
    S::Error: AsFailure + Into<BoxError>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::judged)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let state = match self.limit.check(1) {
            Ok(()) => State::Called {
                future: self.inner.call(request),
            },
            Err(exceeded) => State::Rejected {
                exceeded: Some(exceeded),
            },
        };
        ResponseFuture { state }
    }
}

pin_project! {
    /// The response of a [`RateLimitService`]: the inner response, or the
    /// rejection decided when the request was made.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProjection]
    #[derive(Debug)]
    enum State<F> {
        Called { #[pin] future: F },
        Rejected { exceeded: Option<RateLimitExceeded> },
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: AsFailure + Into<BoxError>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Called { future } => future.poll(cx).map_err(Error::judged),
            StateProjection::Rejected { exceeded } => match exceeded.take() {
                Some(exceeded) => Poll::Ready(Err(Error::RateLimited(exceeded))),
                None => Poll::Pending,
            },
        }
    }
}
