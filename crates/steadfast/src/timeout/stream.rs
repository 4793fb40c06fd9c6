//! A stream adapter that limits the wait for the first item, as for the
//! first token of a streamed model answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::{Elapsed, TimeoutScope};
use crate::Error;

pin_project! {
    /// Wraps a stream of `Result<T, E>` and fails it if the first item does
    /// not arrive within a limit; later items are not limited.
    ///
    /// The clock starts when the adapter is made. On timeout the stream yields
    /// one `Err(E::from(Error::Timeout(..)))` (scope
    /// [`TimeoutScope::FirstItem`]) and ends: every later
    /// poll yields `None`. Use `E = steadfast::Error` or any error type with
    /// `From<steadfast::Error>`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    /// use steadfast::timeout::FirstItemTimeout;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let tokens = futures_util::stream::iter([Ok::<_, steadfast::Error>("Hel"), Ok("lo")]);
    /// let mut limited = std::pin::pin!(FirstItemTimeout::new(tokens, Duration::from_secs(5)));
    /// assert_eq!(limited.next().await.and_then(Result::ok), Some("Hel"));
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct FirstItemTimeout<S> {
        #[pin]
        stream: S,
        #[pin]
        sleep: Option<Sleep>,
        limit: Duration,
        timed_out: bool,
    }
}

impl<S> FirstItemTimeout<S> {
    /// Limits the wait for `stream`'s first item to `limit`, from now.
    pub fn new(stream: S, limit: Duration) -> FirstItemTimeout<S> {
        FirstItemTimeout {
            stream,
            sleep: Some(tokio::time::sleep(limit)),
            limit,
            timed_out: false,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Unwraps the inner stream.
    pub fn into_inner(self) -> S {
        self.stream
    }
}

impl<S, T, E> Stream for FirstItemTimeout<S>
where
    S: Stream<Item = Result<T, E>>,
    E: From<Error>,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if *this.timed_out {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = this.stream.poll_next(cx) {
            this.sleep.set(None);
            return Poll::Ready(item);
        }
        let Some(sleep) = this.sleep.as_mut().as_pin_mut() else {
            return Poll::Pending;
        };
        match sleep.poll(cx) {
            Poll::Ready(()) => {
                *this.timed_out = true;
                this.sleep.set(None);
                let elapsed = Elapsed {
                    scope: TimeoutScope::FirstItem,
                    after: *this.limit,
                };
                Poll::Ready(Some(Err(E::from(Error::Timeout(elapsed)))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.timed_out {
            return (0, Some(0));
        }
        let (_, upper) = self.stream.size_hint();
        (0, upper.map(|n| n.saturating_add(1)))
    }
}
