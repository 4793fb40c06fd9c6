//! A streamed answer on its way to the client, read from the proxy by a task
//! of its own a step ahead of the client: when the client takes no event for
//! `server.write_timeout` (it stopped reading, or reads too slowly to ever
//! finish), the task gives the stream up, which ends the upstream call and
//! frees the target's slots and the client's, instead of holding them for as
//! long as the client likes. The client's pass is held until the stream ends.

use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use steadfast_proxy::runtime::ClientPass;
use tokio::sync::mpsc;

use crate::telemetry::STALLED_STREAMS;

/// The client's body for `events`: relayed by a task that gives up when the
/// client takes no event for `stall`.
pub(super) fn relay(
    mut events: BoxStream<'static, Result<Bytes, std::io::Error>>,
    stall: Duration,
    pass: ClientPass,
) -> Body {
    let (sender, receiver) = mpsc::channel(1);
    tokio::spawn(async move {
        let _pass = pass;
        while let Some(event) = events.next().await {
            match tokio::time::timeout(stall, sender.send(event)).await {
                Ok(Ok(())) => {}
                // The client went away: dropping the stream counts it as cancelled.
                Ok(Err(_)) => return,
                Err(_) => {
                    metrics::counter!(STALLED_STREAMS).increment(1);
                    tracing::warn!(
                        stall_ms = stall.as_millis() as u64,
                        "a client took no event of its stream for server.write_timeout: the stream is given up"
                    );
                    return;
                }
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|event| (event, receiver)) },
    ))
}
