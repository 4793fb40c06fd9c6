//! Bulkhead: at most `max_concurrent` calls in flight per target, with a
//! bounded, first-come-first-served wait queue.
//!
//! A call that finds no free slot waits in the queue (if there is room) for
//! at most `queue_timeout`; otherwise it is refused at once with
//! [`BulkheadFull`] ([`BulkheadRejection::QueueFull`], or
//! [`BulkheadRejection::QueueTimeout`] after waiting too long) and
//! [`Event::Rejected`] is emitted. Waiters are admitted in arrival order (tokio's
//! semaphore is fair), and a waiter whose future is dropped leaves the queue at
//! once, so [`Bulkhead::queued`] is exact.
//!
//! [`Bulkhead`] is the policy handle; [`BulkheadLayer`] ([`Bulkhead::layer`])
//! wraps a tower service in a [`BulkheadService`] sharing its slots.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::bulkhead::Bulkhead;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let bulkhead = Bulkhead::builder(2)
//!     .max_queue(8)
//!     .queue_timeout(Duration::from_secs(1))
//!     .name("gpt")
//!     .build();
//! let answer = bulkhead.call(|| async { Ok::<_, std::io::Error>(1) }).await;
//! assert_eq!(answer.ok(), Some(1));
//! assert_eq!(bulkhead.stats().admitted, 1);
//! # }
//! ```

mod error;
mod layer;
mod queue;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use self::error::{BulkheadFull, BulkheadRejection};
pub use self::layer::{BulkheadLayer, BulkheadService, ResponseFuture};
pub(crate) use self::queue::QueueSlot;
use crate::classify::AsFailure;
use crate::events::{Event, Events, Rejection};
use crate::{BoxError, Error};

/// A bulkhead policy. Cheap to clone: clones share slots, queue and stats.
#[derive(Debug, Clone)]
pub struct Bulkhead {
    shared: Arc<Shared>,
}

/// What every clone of a bulkhead shares.
#[derive(Debug)]
struct Shared {
    name: Arc<str>,
    max_concurrent: usize,
    max_queue: usize,
    queue_timeout: Option<Duration>,
    events: Events,
    semaphore: Arc<Semaphore>,
    queued: AtomicUsize,
    admitted: AtomicU64,
    rejected_full: AtomicU64,
    rejected_timeout: AtomicU64,
}

/// A slot in the bulkhead: the call it admits is in flight until the permit is
/// dropped.
#[derive(Debug)]
pub struct BulkheadPermit {
    _permit: OwnedSemaphorePermit,
}

/// Counts of a bulkhead's decisions since it was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BulkheadStats {
    /// Calls given a slot.
    pub admitted: u64,
    /// Calls refused because the queue was full (or there is none).
    pub rejected_full: u64,
    /// Calls refused after waiting `queue_timeout` in the queue.
    pub rejected_timeout: u64,
}

/// Builds a [`Bulkhead`].
#[derive(Debug, Clone)]
pub struct BulkheadBuilder {
    name: Arc<str>,
    max_concurrent: usize,
    max_queue: usize,
    queue_timeout: Option<Duration>,
    events: Events,
}

impl BulkheadBuilder {
    /// How many calls may wait for a slot (default 0: none wait, a call that
    /// finds no free slot is refused at once).
    pub fn max_queue(mut self, max_queue: usize) -> BulkheadBuilder {
        self.max_queue = max_queue;
        self
    }

    /// How long a call may wait in the queue (default: as long as it takes).
    pub fn queue_timeout(mut self, queue_timeout: Duration) -> BulkheadBuilder {
        self.queue_timeout = Some(queue_timeout);
        self
    }

    /// Names the bulkhead in errors, events and metrics (default `"bulkhead"`).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> BulkheadBuilder {
        self.name = name.into();
        self
    }

    /// Publishes [`Event::Rejected`] into `events`.
    pub fn events(mut self, events: Events) -> BulkheadBuilder {
        self.events = events;
        self
    }

    /// The bulkhead.
    pub fn build(self) -> Bulkhead {
        let max_concurrent = self.max_concurrent.min(Semaphore::MAX_PERMITS);
        Bulkhead {
            shared: Arc::new(Shared {
                name: self.name,
                max_concurrent,
                max_queue: self.max_queue,
                queue_timeout: self.queue_timeout,
                events: self.events,
                semaphore: Arc::new(Semaphore::new(max_concurrent)),
                queued: AtomicUsize::new(0),
                admitted: AtomicU64::new(0),
                rejected_full: AtomicU64::new(0),
                rejected_timeout: AtomicU64::new(0),
            }),
        }
    }
}

impl Bulkhead {
    /// A builder for a bulkhead of `max_concurrent` slots (capped at tokio's
    /// semaphore maximum).
    pub fn builder(max_concurrent: usize) -> BulkheadBuilder {
        BulkheadBuilder {
            name: Arc::from("bulkhead"),
            max_concurrent,
            max_queue: 0,
            queue_timeout: None,
            events: Events::none(),
        }
    }

    /// Takes a slot if one is free now; never waits.
    pub fn try_acquire(&self) -> Result<BulkheadPermit, BulkheadFull> {
        self.shared.try_acquire()
    }

    /// Takes a slot, waiting in the queue if there is room; see the
    /// [module docs](self). Dropping the returned future leaves the queue.
    pub async fn acquire(&self) -> Result<BulkheadPermit, BulkheadFull> {
        self.shared.acquire().await
    }

    /// Runs `op` in a slot, which is held until `op`'s future completes. A
    /// refusal is [`Error::BulkheadFull`]; the op's own errors become
    /// [`Error::from_boxed`] transient call failures.
    pub async fn call<T, E, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        let _permit = self.acquire().await?;
        op().await.map_err(Error::judged)
    }

    /// A tower layer sharing this bulkhead's slots among the services it wraps.
    pub fn layer(&self) -> BulkheadLayer {
        BulkheadLayer::new(self.clone())
    }

    /// The bulkhead's name.
    pub fn name(&self) -> &Arc<str> {
        &self.shared.name
    }

    /// Its limit of concurrent calls.
    pub fn max_concurrent(&self) -> usize {
        self.shared.max_concurrent
    }

    /// Calls holding a slot now.
    pub fn in_flight(&self) -> usize {
        self.shared.max_concurrent - self.shared.semaphore.available_permits()
    }

    /// Calls waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Acquire)
    }

    /// Counts of admissions and refusals so far.
    pub fn stats(&self) -> BulkheadStats {
        BulkheadStats {
            admitted: self.shared.admitted.load(Ordering::Relaxed),
            rejected_full: self.shared.rejected_full.load(Ordering::Relaxed),
            rejected_timeout: self.shared.rejected_timeout.load(Ordering::Relaxed),
        }
    }
}

impl Shared {
    fn try_acquire(&self) -> Result<BulkheadPermit, BulkheadFull> {
        match self.semaphore.clone().try_acquire_owned() {
            Ok(permit) => Ok(self.admit(permit)),
            Err(_) => Err(self.reject(BulkheadRejection::QueueFull)),
        }
    }

    async fn acquire(&self) -> Result<BulkheadPermit, BulkheadFull> {
        if let Ok(permit) = self.semaphore.clone().try_acquire_owned() {
            return Ok(self.admit(permit));
        }
        let Some(_slot) = QueueSlot::take(&self.queued, self.max_queue) else {
            return Err(self.reject(BulkheadRejection::QueueFull));
        };
        let wait = self.semaphore.clone().acquire_owned();
        let acquired = match self.queue_timeout {
            Some(limit) => tokio::time::timeout(limit, wait).await.ok(),
            None => Some(wait.await),
        };
        match acquired {
            Some(Ok(permit)) => Ok(self.admit(permit)),
            // The semaphore is never closed; a closed one admits nobody.
            Some(Err(_)) => Err(self.reject(BulkheadRejection::QueueFull)),
            None => Err(self.reject(BulkheadRejection::QueueTimeout)),
        }
    }

    fn admit(&self, permit: OwnedSemaphorePermit) -> BulkheadPermit {
        self.admitted.fetch_add(1, Ordering::Relaxed);
        BulkheadPermit { _permit: permit }
    }

    fn reject(&self, reason: BulkheadRejection) -> BulkheadFull {
        let counter = match reason {
            BulkheadRejection::QueueFull => &self.rejected_full,
            BulkheadRejection::QueueTimeout => &self.rejected_timeout,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.events.emit(Event::Rejected {
            name: self.name.clone(),
            by: Rejection::BulkheadFull,
        });
        BulkheadFull {
            name: self.name.clone(),
            max_concurrent: self.max_concurrent,
            reason,
        }
    }
}
