//! The tower layer and service of the bulkhead.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::Bulkhead;
use crate::{BoxError, Error, Failure};

/// The response of a [`Bulkhead`] service: waits for a slot, then calls the
/// inner service while holding it.
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// Puts every request of a service through a [`Bulkhead`]; all services made
/// by one layer share its slots.
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
    type Service = Bulkhead<S>;

    fn layer(&self, inner: S) -> Bulkhead<S> {
        Bulkhead {
            shared: self.bulkhead.shared.clone(),
            inner,
        }
    }
}

/// `poll_ready` only asks the inner service; the slot is taken inside the
/// response future, so the queue limit and queue timeout apply to each call and
/// a caller never holds a queue place just by being ready.
impl<S, Request> Service<Request> for Bulkhead<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    Request: Send + 'static,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ResponseFuture<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|e| Error::from_boxed(e.into(), Failure::transient()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // Call the clone that was made ready, leave a fresh clone in its place.
        let fresh = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, fresh);
        let shared = self.shared.clone();
        Box::pin(async move {
            let _permit = shared.acquire().await?;
            ready
                .call(request)
                .await
                .map_err(|e| Error::from_boxed(e.into(), Failure::transient()))
        })
    }
}
