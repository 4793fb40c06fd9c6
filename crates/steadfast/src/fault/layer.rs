//! The tower layer and service of the fault injector.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::FaultPolicy;
use crate::classify::AsFailure;
use crate::{BoxError, Error};

/// Wraps services in a [`FaultService`] sharing one [`FaultPolicy`]; made by
/// [`FaultLayer::new`] or [`FaultPolicy::layer`].
#[derive(Debug, Clone)]
pub struct FaultLayer {
    injector: FaultPolicy,
}

impl FaultLayer {
    /// A layer sharing `injector`'s configuration, random source and stats.
    pub fn new(injector: FaultPolicy) -> FaultLayer {
        FaultLayer { injector }
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> FaultService<S> {
        FaultService {
            injector: self.injector.clone(),
            inner,
        }
    }
}

/// A service with faults injected before its requests; made by [`FaultLayer`].
#[derive(Debug, Clone)]
pub struct FaultService<S> {
    injector: FaultPolicy,
    inner: S,
}

impl<S> FaultService<S> {
    /// Wraps `inner`, injecting what `injector` says.
    pub fn new(inner: S, injector: FaultPolicy) -> FaultService<S> {
        FaultLayer::new(injector).layer(inner)
    }

    /// The injector in use.
    pub fn injector(&self) -> &FaultPolicy {
        &self.injector
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

/// While the injector is off a request goes straight to the inner service (no
/// allocation); while on, the injection and the inner call run in a boxed
/// future, and an injected failure never reaches the inner service.
impl<S, Request> Service<Request> for FaultService<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Error: AsFailure + Into<BoxError>,
    S::Future: Send + 'static,
    Request: Send + 'static,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Future, S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::judged)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if !self.injector.is_active() {
            let future = self.inner.call(request);
            return ResponseFuture {
                state: State::Direct { future },
            };
        }
        // Call the clone that was made ready, leave a fresh clone in its place.
        let fresh = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, fresh);
        let injector = self.injector.clone();
        let future = Box::pin(async move {
            injector.inject().await?;
            ready.call(request).await.map_err(Error::judged)
        });
        ResponseFuture {
            state: State::Injected { future },
        }
    }
}

type Injected<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

pin_project! {
    /// The response of a [`FaultService`].
    pub struct ResponseFuture<F, T> {
        #[pin]
        state: State<F, T>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F, T> {
        Direct { #[pin] future: F },
        Injected { future: Injected<T> },
    }
}

impl<F, T, E> Future for ResponseFuture<F, T>
where
    F: Future<Output = Result<T, E>>,
    E: AsFailure + Into<BoxError>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Direct { future } => future.poll(cx).map_err(Error::judged),
            StateProjection::Injected { future } => future.as_mut().poll(cx),
        }
    }
}
