//! The response future of the [`BreakerService`](super::BreakerService) service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use super::BreakerOpen;
use super::permit::OwnedPermit;
use crate::classify::AsFailure;
use crate::classify::Classify;
use crate::{BoxError, Error};

pin_project! {
    /// The future of a [`BreakerService`](super::BreakerService) call: the inner
    /// future and the permit its outcome is reported to, or a refusal.
    pub struct ResponseFuture<F, C> {
        #[pin]
        kind: Kind<F, C>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, C> {
        Called {
            #[pin]
            future: F,
            permit: Option<OwnedPermit>,
            classifier: C,
        },
        Rejected {
            open: BreakerOpen,
        },
    }
}

impl<F, C> ResponseFuture<F, C> {
    pub(crate) fn called(future: F, permit: OwnedPermit, classifier: C) -> Self {
        ResponseFuture {
            kind: Kind::Called {
                future,
                permit: Some(permit),
                classifier,
            },
        }
    }

    pub(crate) fn rejected(open: BreakerOpen) -> Self {
        ResponseFuture {
            kind: Kind::Rejected { open },
        }
    }
}

impl<F, C, T, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<T, E>>,
    E: AsFailure + Into<BoxError>,
    C: Classify<T, Error>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called {
                future,
                permit,
                classifier,
            } => {
                let result = ready!(future.poll(cx)).map_err(Error::judged);
                if let Some(permit) = permit.take() {
                    let outcome = classifier.classify(&result);
                    permit.settle(&result, outcome);
                }
                Poll::Ready(result)
            }
            KindProj::Rejected { open } => Poll::Ready(Err(Error::BreakerOpen(open.clone()))),
        }
    }
}

impl<F, C> std::fmt::Debug for ResponseFuture<F, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
