//! `GET /api/events`: a server-sent event stream of everything the dashboard
//! shows live. Unnamed events carry the library's events and the gateway's
//! notices as JSON objects with a `"type"`; every second a `status` event
//! carries the same JSON as `GET /api/status` and a `sample` event the newest
//! second of the history. A subscriber that falls behind skips what it missed
//! (told in a comment) and carries on; the stream ends when the gateway stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;
use serde_json::Value;
use steadfast::events::Event;
use steadfast_wire::clock::unix_millis;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

use super::info::snapshot;
use crate::dashboard::event_json;
use crate::sampler;
use crate::state::AppState;

/// How long an idle stream waits before a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// `GET /api/events`.
pub(super) async fn events(
    State(app): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let mut ticks = tokio::time::interval(sampler::PERIOD);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let feed = Feed {
        events: app.proxy.events().subscribe(),
        notices: app.dashboard.subscribe_notices(),
        closed: app.dashboard.closed(),
        ticks,
        pending: None,
        last_sample: 0,
        app,
    };
    let stream = stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}

/// One subscriber's sources.
struct Feed {
    app: Arc<AppState>,
    events: broadcast::Receiver<Event>,
    notices: broadcast::Receiver<Value>,
    closed: watch::Receiver<bool>,
    ticks: Interval,
    /// The `sample` event that follows a `status` event.
    pending: Option<SseEvent>,
    /// Time of the newest sample sent.
    last_sample: u64,
}

impl Feed {
    /// The next event to send; `None` ends the stream.
    async fn next(&mut self) -> Option<SseEvent> {
        if let Some(pending) = self.pending.take() {
            return Some(pending);
        }
        loop {
            tokio::select! {
                _ = steadfast_net::wait_for(&mut self.closed) => return None,
                _ = self.ticks.tick() => {
                    self.pending = self.newest_sample();
                    let status = snapshot(&self.app).to_string();
                    return Some(SseEvent::default().event("status").data(status));
                }
                received = self.events.recv() => match received {
                    Ok(event) => {
                        if let Some(json) = event_json(&event, unix_millis()) {
                            return Some(SseEvent::default().data(json.to_string()));
                        }
                    }
                    Err(error) => return lagged(error),
                },
                received = self.notices.recv() => match received {
                    Ok(notice) => return Some(SseEvent::default().data(notice.to_string())),
                    Err(error) => return lagged(error),
                },
            }
        }
    }

    /// The history's newest sample as a `sample` event, if not sent yet.
    fn newest_sample(&mut self) -> Option<SseEvent> {
        let json = self.app.dashboard.with_history(|history| {
            let newest = history.samples().last()?;
            (newest.time > self.last_sample).then(|| (newest.time, serde_json::to_string(newest)))
        });
        let (time, Ok(json)) = json? else {
            return None;
        };
        self.last_sample = time;
        Some(SseEvent::default().event("sample").data(json))
    }
}

/// A comment telling a lagging subscriber how many events it skipped; the
/// stream goes on from the oldest event still buffered. A closed bus (the
/// gateway is going away) ends the stream.
fn lagged(error: RecvError) -> Option<SseEvent> {
    match error {
        RecvError::Lagged(skipped) => {
            Some(SseEvent::default().comment(format!("skipped {skipped} events")))
        }
        RecvError::Closed => None,
    }
}
