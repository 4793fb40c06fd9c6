//! The response future of the [`TimeoutService`](super::TimeoutService).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::Shared;
use crate::classify::AsFailure;
use crate::{BoxError, Error};

pin_project! {
    /// The response of a [`TimeoutService`](super::TimeoutService): the inner
    /// response, or [`Error::Timeout`] when the limit passes first.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        response: F,
        #[pin]
        sleep: Sleep,
        shared: Arc<Shared>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(response: F, shared: Arc<Shared>) -> ResponseFuture<F> {
        ResponseFuture {
            response,
            sleep: tokio::time::sleep(shared.after),
            shared,
        }
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: AsFailure + Into<BoxError>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.response.poll(cx) {
            return Poll::Ready(result.map_err(Error::judged));
        }
        match this.sleep.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(this.shared.elapsed())),
            Poll::Pending => Poll::Pending,
        }
    }
}
