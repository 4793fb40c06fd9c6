//! Delivery: one worker task and one bounded queue per channel, so a slow or
//! failing channel never holds up the others nor the engine. A notice that
//! finds its channel's queue full is dropped, counted and logged. Each
//! delivery is retried with exponential backoff by the library's retry policy;
//! a final failure is logged without secrets and counted.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use steadfast::retry::{Backoff, Jitter, RetryPolicy};
use steadfast_config::AlertsConfig;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::channel::Channel;
use super::notice::Notice;

/// Notices a channel may have waiting before new ones are dropped.
pub const QUEUE: usize = 64;

/// Delivery counters, shown by `GET /api/alerts`.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// A snapshot of [`DeliveryStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeliveryCounts {
    /// Notices delivered to a channel.
    pub sent: u64,
    /// Notices a channel did not take after every retry.
    pub failed: u64,
    /// Notices dropped because a channel's queue was full or unknown.
    pub dropped: u64,
}

impl DeliveryStats {
    /// The counters now.
    pub fn counts(&self) -> DeliveryCounts {
        DeliveryCounts {
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// The queues of every configured channel.
#[derive(Debug)]
pub struct Outbox {
    queues: HashMap<Arc<str>, mpsc::Sender<Arc<Notice>>>,
    stats: Arc<DeliveryStats>,
}

impl Outbox {
    /// Starts a worker per channel of `config` in `workers`. Dropping the
    /// outbox closes the queues: workers finish what is queued, then end.
    pub fn start(
        config: &AlertsConfig,
        stats: &Arc<DeliveryStats>,
        client: &reqwest::Client,
        workers: &mut JoinSet<()>,
    ) -> Outbox {
        let retry = RetryPolicy::builder()
            .name("alerts")
            .max_attempts(4)
            .backoff(
                Backoff::exponential(Duration::from_millis(200), Duration::from_secs(10))
                    .with_jitter(Jitter::Equal),
            )
            .build();
        let mut queues = HashMap::new();
        for (name, settings) in &config.channels {
            let name: Arc<str> = name.as_str().into();
            let (sender, receiver) = mpsc::channel(QUEUE);
            let channel = Channel::new(settings, client);
            workers.spawn(work(
                Arc::clone(&name),
                channel,
                receiver,
                retry.clone(),
                Arc::clone(stats),
            ));
            queues.insert(name, sender);
        }
        Outbox {
            queues,
            stats: Arc::clone(stats),
        }
    }

    /// Queues `notice` on each of its channels without waiting.
    pub fn send(&self, notice: Notice) {
        let notice = Arc::new(notice);
        for name in &notice.channels {
            let queued = self
                .queues
                .get(name)
                .is_some_and(|queue| queue.try_send(Arc::clone(&notice)).is_ok());
            if !queued {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    channel = %name,
                    alert = %notice.alert.id,
                    event = notice.event.as_str(),
                    "alert notice dropped: the channel's queue is full or the channel is gone"
                );
            }
        }
    }
}

async fn work(
    name: Arc<str>,
    channel: Channel,
    mut queue: mpsc::Receiver<Arc<Notice>>,
    retry: RetryPolicy,
    stats: Arc<DeliveryStats>,
) {
    while let Some(notice) = queue.recv().await {
        match retry.call(|| channel.deliver(&notice)).await {
            Ok(()) => {
                stats.sent.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(channel = %name, alert = %notice.alert.id, event = notice.event.as_str(), "alert notice delivered");
            }
            Err(error) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    channel = %name,
                    kind = channel.kind(),
                    alert = %notice.alert.id,
                    event = notice.event.as_str(),
                    %error,
                    "alert notice not delivered after retries"
                );
            }
        }
    }
}
