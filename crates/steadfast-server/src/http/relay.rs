//! A streamed answer on its way to the client, read from the proxy by a task
//! of its own a step ahead of the client: when the client takes no event for
//! `server.write_timeout` (it stopped reading, or reads too slowly to ever
//! finish), the task gives the stream up, which ends the upstream call and
//! frees the target's slots and the client's, instead of holding them for as
//! long as the client likes; the client's body then ends in an error (its
//! connection or HTTP/2 stream is reset), never as if the answer were whole.
//! A client that goes away ends the task at once. The client's pass is held
//! until the stream ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use steadfast_proxy::runtime::ClientPass;
use tokio::sync::mpsc;

use crate::telemetry::STALLED_STREAMS;

/// What the task hands the client's body.
type Item = Result<Bytes, std::io::Error>;

/// The client's body for `events`: relayed by a task that gives up when the
/// client takes no event for `stall`.
pub(super) fn relay(
    mut events: BoxStream<'static, Item>,
    stall: Duration,
    pass: ClientPass,
) -> Body {
    let (sender, receiver) = mpsc::channel::<Item>(1);
    let given_up = Arc::new(AtomicBool::new(false));
    let gave_up = Arc::clone(&given_up);
    tokio::spawn(async move {
        let _pass = pass;
        loop {
            let event = tokio::select! {
                // The client went away: dropping the stream counts it as cancelled.
                () = sender.closed() => return,
                event = events.next() => event,
            };
            let Some(event) = event else {
                return;
            };
            match tokio::time::timeout(stall, sender.send(event)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    metrics::counter!(STALLED_STREAMS).increment(1);
                    tracing::warn!(
                        stall_ms = stall.as_millis() as u64,
                        "a client took no event of its stream for server.write_timeout: the stream is given up"
                    );
                    gave_up.store(true, Ordering::Release);
                    return;
                }
            }
        }
    });
    let body = futures_util::stream::unfold(Some(receiver), move |receiver| {
        let given_up = Arc::clone(&given_up);
        async move {
            let mut receiver = receiver?;
            match receiver.recv().await {
                Some(event) => Some((event, Some(receiver))),
                // Given up: the client's body ends in an error, not as if whole.
                None if given_up.load(Ordering::Acquire) => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client took no event for server.write_timeout",
                    )),
                    None,
                )),
                None => None,
            }
        }
    });
    Body::from_stream(body)
}
