//! What open event streams (`GET /api/events`) share: every event and
//! notice as JSON text, made once and sent to all, and each second's status
//! and sample, built once a second for all subscribers (and only when there
//! are some), never once per subscriber. Subscribers are counted and capped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{broadcast, watch};

/// How many events a slow subscriber may fall behind before it skips some.
const FEED_CAPACITY: usize = 1024;

/// What the feed carries.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// An event's or notice's JSON text.
    Event(Arc<str>),
    /// Events the feed itself missed (it fell behind the event bus).
    Skipped(u64),
}

/// One second's `status` and `sample` events, as JSON text.
#[derive(Debug)]
pub struct Tick {
    /// The status snapshot.
    pub status: String,
    /// The newest sample of the history.
    pub sample: String,
}

/// The live side of the dashboard.
#[derive(Debug)]
pub struct Live {
    feed: broadcast::Sender<FeedItem>,
    ticks: watch::Sender<Option<Arc<Tick>>>,
    subscribers: Arc<AtomicUsize>,
}

impl Default for Live {
    fn default() -> Live {
        Live {
            feed: broadcast::channel(FEED_CAPACITY).0,
            ticks: watch::channel(None).0,
            subscribers: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// One open event stream's share of the feed, counted until dropped.
#[derive(Debug)]
pub struct Subscription {
    /// Events and notices.
    pub feed: broadcast::Receiver<FeedItem>,
    /// Each second's status and sample; marked changed at once when one is
    /// at hand, so a new subscriber gets the latest status first.
    pub ticks: watch::Receiver<Option<Arc<Tick>>>,
    _counted: Counted,
}

#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Live {
    /// A subscription, unless `max` streams are open already.
    pub fn subscribe(&self, max: usize) -> Option<Subscription> {
        self.subscribers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .ok()?;
        let mut ticks = self.ticks.subscribe();
        if ticks.borrow().is_some() {
            ticks.mark_changed();
        }
        Some(Subscription {
            feed: self.feed.subscribe(),
            ticks,
            _counted: Counted(Arc::clone(&self.subscribers)),
        })
    }

    /// How many event streams are open.
    pub fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::Acquire)
    }

    /// Sends an event's JSON text to every open stream.
    pub fn publish(&self, json: &str) {
        if self.feed.receiver_count() > 0 {
            let _ = self.feed.send(FeedItem::Event(Arc::from(json)));
        }
    }

    /// Tells every open stream that `count` events were missed.
    pub fn skipped(&self, count: u64) {
        let _ = self.feed.send(FeedItem::Skipped(count));
    }

    /// Sends this second's status and sample to every open stream.
    pub fn tick(&self, tick: Tick) {
        self.ticks.send_replace(Some(Arc::new(tick)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_are_capped_and_counted_until_they_go() {
        let live = Live::default();
        let first = live.subscribe(2).unwrap();
        let _second = live.subscribe(2).unwrap();
        assert!(live.subscribe(2).is_none());
        assert_eq!(live.subscribers(), 2);
        drop(first);
        assert_eq!(live.subscribers(), 1);
        assert!(live.subscribe(2).is_some());
    }

    #[tokio::test]
    async fn a_tick_is_built_once_and_shared() {
        let live = Live::default();
        let mut a = live.subscribe(10).unwrap();
        let mut b = live.subscribe(10).unwrap();
        live.tick(Tick {
            status: "{}".into(),
            sample: "{}".into(),
        });
        a.ticks.changed().await.unwrap();
        b.ticks.changed().await.unwrap();
        let (x, y) = (
            a.ticks.borrow().clone().unwrap(),
            b.ticks.borrow().clone().unwrap(),
        );
        assert!(Arc::ptr_eq(&x, &y));
        let late = live.subscribe(10).unwrap();
        assert!(
            late.ticks.has_changed().unwrap(),
            "a late subscriber gets the latest at once"
        );
    }
}
