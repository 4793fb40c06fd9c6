//! The tower layer and service of the timeout policy.

use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::{ResponseFuture, Timeout};
use crate::classify::AsFailure;
use crate::{BoxError, Error};

/// Wraps services in a [`TimeoutService`] sharing one [`Timeout`]; made by
/// [`TimeoutLayer::new`] or [`Timeout::layer`].
#[derive(Debug, Clone)]
pub struct TimeoutLayer {
    timeout: Timeout,
}

impl TimeoutLayer {
    /// A layer sharing `timeout`'s limit, name and events.
    pub fn new(timeout: Timeout) -> TimeoutLayer {
        TimeoutLayer { timeout }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = TimeoutService<S>;

    fn layer(&self, inner: S) -> TimeoutService<S> {
        TimeoutService {
            timeout: self.timeout.clone(),
            inner,
        }
    }
}

/// A service that applies a [`Timeout`] to every request.
#[derive(Debug, Clone)]
pub struct TimeoutService<S> {
    timeout: Timeout,
    inner: S,
}

impl<S> TimeoutService<S> {
    /// Wraps `inner`, sharing `timeout`'s limit, name and events.
    pub fn new(inner: S, timeout: Timeout) -> TimeoutService<S> {
        TimeoutLayer::new(timeout).layer(inner)
    }

    /// The timeout in use.
    pub fn timeout(&self) -> &Timeout {
        &self.timeout
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, Request> Service<Request> for TimeoutService<S>
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
        ResponseFuture::new(self.inner.call(request), self.timeout.shared.clone())
    }
}
