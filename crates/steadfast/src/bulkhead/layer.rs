//! The tower layer and service of the bulkhead.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::Bulkhead;
use crate::classify::AsFailure;
use crate::{BoxError, Error};

/// The response of a [`BulkheadService`]: waits for a slot, then calls the
/// inner service while holding it.
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// Wraps services in a [`BulkheadService`] sharing one [`Bulkhead`]'s slots;
/// made by [`BulkheadLayer::new`] or [`Bulkhead::layer`].
#[derive(Debug, Clone)]
pub struct BulkheadLayer {
    bulkhead: Bulkhead,
}

impl BulkheadLayer {
    /// A layer sharing `bulkhead`'s slots, queue, stats and events.
    pub fn new(bulkhead: Bulkhead) -> BulkheadLayer {
        BulkheadLayer { bulkhead }
    }
}

impl<S> Layer<S> for BulkheadLayer {
    type Service = BulkheadService<S>;

    fn layer(&self, inner: S) -> BulkheadService<S> {
        BulkheadService {
            bulkhead: self.bulkhead.clone(),
            inner,
        }
    }
}

/// A service that puts every request through a [`Bulkhead`].
#[derive(Debug, Clone)]
pub struct BulkheadService<S> {
    bulkhead: Bulkhead,
    inner: S,
}

impl<S> BulkheadService<S> {
    /// Wraps `inner`, sharing `bulkhead`'s slots, queue, stats and events.
    pub fn new(inner: S, bulkhead: Bulkhead) -> BulkheadService<S> {
        BulkheadLayer::new(bulkhead).layer(inner)
    }

    /// The bulkhead in use.
    pub fn bulkhead(&self) -> &Bulkhead {
        &self.bulkhead
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

/// `poll_ready` only asks the inner service; the slot is taken inside the
/// response future, so the queue limit and queue timeout apply to each call and
/// a caller never holds a queue place just by being ready.
impl<S, Request> Service<Request> for BulkheadService<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Error: AsFailure + Into<BoxError>,
    S::Future: Send + 'static,
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
        let shared = self.bulkhead.shared.clone();
        Box::pin(async move {
            let _permit = shared.acquire().await?;
            ready.call(request).await.map_err(Error::judged)
        })
    }
}
