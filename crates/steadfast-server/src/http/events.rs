//! `GET /api/events`: a server-sent event stream of everything the dashboard
//! shows live. Unnamed events carry the library's events and the gateway's
//! notices as JSON objects with a `"type"`; every second a `status` event
//! carries the same JSON as `GET /api/status` and a `sample` event the newest
//! second of the history. Both are made once for every subscriber (see
//! [`Live`](crate::dashboard::Live)); past `server.max_event_subscribers`
//! open streams a new one gets 503. A subscriber that falls behind skips
//! what it missed (told in a comment) and carries on; the stream ends when
//! the gateway stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use super::error::ApiError;
use crate::dashboard::{FeedItem, Subscription};
use crate::state::AppState;

/// How long an idle stream waits before a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// `GET /api/events`.
pub(super) async fn events(State(app): State<Arc<AppState>>) -> Response {
    let max = app.runtime().config.server.max_event_subscribers;
    let Some(subscription) = app.dashboard.live.subscribe(max) else {
        let mut refusal = ApiError::unavailable(
            "too_many_subscribers",
            format!(
                "{max} event streams are open, as many as server.max_event_subscribers allows."
            ),
        );
        refusal.retry_after = Some(5);
        return refusal.into_response();
    };
    let feed = Feed {
        subscription,
        closed: app.dashboard.closed(),
        pending: None,
    };
    let stream = stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok::<_, Infallible>(event), feed))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
        .into_response()
}

/// One subscriber's sources.
struct Feed {
    subscription: Subscription,
    closed: watch::Receiver<bool>,
    /// The `sample` event that follows a `status` event.
    pending: Option<SseEvent>,
}

impl Feed {
    /// The next event to send; `None` ends the stream.
    async fn next(&mut self) -> Option<SseEvent> {
        if let Some(pending) = self.pending.take() {
            return Some(pending);
        }
        let Subscription { feed, ticks, .. } = &mut self.subscription;
        tokio::select! {
            _ = steadfast_net::wait_for(&mut self.closed) => None,
            changed = ticks.changed() => {
                changed.ok()?;
                let tick = ticks.borrow_and_update().clone()?;
                self.pending = Some(SseEvent::default().event("sample").data(&tick.sample));
                Some(SseEvent::default().event("status").data(&tick.status))
            }
            received = feed.recv() => match received {
                Ok(FeedItem::Event(json)) => Some(SseEvent::default().data(&*json)),
                Ok(FeedItem::Skipped(skipped)) | Err(RecvError::Lagged(skipped)) => {
                    Some(SseEvent::default().comment(format!("skipped {skipped} events")))
                }
                Err(RecvError::Closed) => None,
            },
        }
    }
}
