//! Adaptive concurrency: a limit of calls in flight that is learned from the
//! target's answers rather than configured, because nobody knows a
//! provider's real concurrency and it changes by the hour.
//!
//! The limit rises while calls are served and falls when the target says it
//! is over capacity — a 429, 503 or 529 answer (`FailureKind::RateLimited`
//! or `Overloaded`), a timeout, or a success slower than
//! [`AdaptiveLimitBuilder::slow_call`]. The rule is AIMD with a slow start,
//! as TCP Reno and Netflix's `AIMDLimit`: +1 per success until the first
//! overload, then +1/limit per success (about +1 per round of calls); ×0.9
//! (and at least −1) on an overload, once per round. It stays within
//! `[min, max]`. Other failures (a 400, a 500) say nothing of capacity and
//! leave the limit as it is.
//!
//! Why not latency gradients (Vegas, Netflix's `Gradient2`, Envoy's adaptive
//! concurrency)? They compare each call's latency with the latency without
//! queueing; a model's answer takes as long as the text it writes, so a long
//! answer reads as queueing. Slowness is taken only past a bound you give
//! (`slow_call`), and as timeouts.
//!
//! A call takes a [`LimitPermit`] ([`AdaptiveLimit::try_acquire`], or
//! [`AdaptiveLimit::acquire`] which waits in a bounded queue like the
//! bulkhead's) and reports how it ended on it ([`LimitPermit::record`]); a
//! permit dropped unrecorded teaches nothing. [`AdaptiveLimitLayer`] puts a
//! tower service under a limit, judging each result by its [`AsFailure`]
//! answer.
//!
//! ```
//! use steadfast::adaptive::AdaptiveLimit;
//! use steadfast::{Failure, FailureKind, Outcome};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let limit = AdaptiveLimit::builder().initial(2).max(50).name("gpt").build();
//! let first = limit.try_acquire().unwrap();
//! let second = limit.try_acquire().unwrap();
//! assert!(limit.try_acquire().is_err(), "two in flight: the limit");
//! first.record(&Outcome::Success);
//! second.record(&Outcome::Success);
//! assert_eq!(limit.limit(), 4, "slow start: +1 per success");
//!
//! let permit = limit.try_acquire().unwrap();
//! permit.record(&Outcome::Failure(Failure::new(FailureKind::Overloaded)));
//! assert_eq!(limit.limit(), 3, "an overload: x0.9, at least 1 less");
//! # }
//! ```

mod aimd;
mod error;
mod layer;

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use self::aimd::{Aimd, Learned};
pub use self::error::LimitReached;
pub use self::layer::{AdaptiveLimitLayer, AdaptiveLimitService, ResponseFuture};
use crate::bulkhead::QueueSlot;
use crate::classify::AsFailure;
use crate::events::{Event, Events, Rejection};
use crate::{BoxError, Error, FailureKind, Outcome};

/// The gauge of each limit (label `name`), with the `metrics` feature.
#[cfg(feature = "metrics")]
const LIMIT_GAUGE: &str = "steadfast_concurrency_limit";

/// The limit a new [`AdaptiveLimit`] starts from, unless told.
pub const DEFAULT_INITIAL: usize = 8;

/// The highest limit, unless told.
pub const DEFAULT_MAX: usize = 1000;

/// The factor an overload multiplies the limit by, unless told.
pub const DEFAULT_BACKOFF: f64 = 0.9;

/// An adaptive concurrency limit. Cheap to clone: clones share the limit,
/// the calls in flight and the queue.
#[derive(Debug, Clone)]
pub struct AdaptiveLimit {
    shared: Arc<Shared>,
}

/// What every clone of a limit shares.
#[derive(Debug)]
struct Shared {
    name: Arc<str>,
    rule: Aimd,
    slow_call: Option<Duration>,
    max_queue: usize,
    queue_timeout: Option<Duration>,
    events: Events,
    /// As many permits as the limit (less those owed).
    semaphore: Arc<Semaphore>,
    state: Mutex<State>,
    /// The rule's epoch, mirrored out of the lock for admissions to read.
    epoch: AtomicU64,
    in_flight: AtomicUsize,
    queued: AtomicUsize,
    overloads: AtomicU64,
    rejected: AtomicU64,
    /// The limit's gauge, registered once: a change costs no allocation.
    #[cfg(feature = "metrics")]
    gauge: metrics::Gauge,
}

/// The learned limit and how the semaphore stands against it.
#[derive(Debug)]
struct State {
    learned: Learned,
    /// The limit the semaphore's permits were last set to.
    granted: usize,
    /// Permits to forget as they come back, after the limit fell below the
    /// calls in flight.
    owed: usize,
}

/// Leave for one call under the limit. Report how the call ended with
/// [`LimitPermit::record`] (or `success`, `overload`); dropping it
/// unrecorded teaches the limit nothing.
#[derive(Debug)]
pub struct LimitPermit {
    shared: Arc<Shared>,
    permit: Option<OwnedSemaphorePermit>,
    epoch: u64,
    in_flight: usize,
    /// When the call started, where slow calls count (the clock is read
    /// only then).
    started: Option<Instant>,
}

/// A limit's state now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AdaptiveStats {
    /// The learned limit.
    pub limit: usize,
    /// Calls in flight.
    pub in_flight: usize,
    /// Calls waiting for a place.
    pub queued: usize,
    /// Overloads reported so far.
    pub overloads: u64,
    /// Calls refused so far.
    pub rejected: u64,
}

/// Builds an [`AdaptiveLimit`].
#[derive(Debug, Clone)]
pub struct AdaptiveLimitBuilder {
    name: Arc<str>,
    initial: usize,
    min: usize,
    max: usize,
    backoff: f64,
    slow_call: Option<Duration>,
    max_queue: usize,
    queue_timeout: Option<Duration>,
    events: Events,
}

impl AdaptiveLimitBuilder {
    /// The limit to start from (default [`DEFAULT_INITIAL`]).
    pub fn initial(mut self, initial: usize) -> AdaptiveLimitBuilder {
        self.initial = initial;
        self
    }

    /// The lowest limit (default 1; at least 1).
    pub fn min(mut self, min: usize) -> AdaptiveLimitBuilder {
        self.min = min;
        self
    }

    /// The highest limit (default [`DEFAULT_MAX`]), e.g. a provider's
    /// documented concurrency.
    pub fn max(mut self, max: usize) -> AdaptiveLimitBuilder {
        self.max = max;
        self
    }

    /// The factor an overload multiplies the limit by (default
    /// [`DEFAULT_BACKOFF`]; kept within 0.5 and 0.99).
    pub fn backoff(mut self, backoff: f64) -> AdaptiveLimitBuilder {
        self.backoff = backoff;
        self
    }

    /// A success that took longer than this counts as an overload (default:
    /// none does).
    pub fn slow_call(mut self, slow_call: Duration) -> AdaptiveLimitBuilder {
        self.slow_call = Some(slow_call);
        self
    }

    /// How many calls may wait for a place (default 0: a call that finds the
    /// limit in flight is refused at once).
    pub fn max_queue(mut self, max_queue: usize) -> AdaptiveLimitBuilder {
        self.max_queue = max_queue;
        self
    }

    /// How long a call may wait for a place (default: as long as it takes).
    pub fn queue_timeout(mut self, queue_timeout: Duration) -> AdaptiveLimitBuilder {
        self.queue_timeout = Some(queue_timeout);
        self
    }

    /// Names the limit in errors, events and metrics (default `"adaptive"`).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> AdaptiveLimitBuilder {
        self.name = name.into();
        self
    }

    /// Publishes [`Event::LimitChanged`] and [`Event::Rejected`] into `events`.
    pub fn events(mut self, events: Events) -> AdaptiveLimitBuilder {
        self.events = events;
        self
    }

    /// The limit.
    pub fn build(self) -> AdaptiveLimit {
        let max = self.max.clamp(1, Semaphore::MAX_PERMITS);
        let rule = Aimd {
            min: self.min.clamp(1, max) as f64,
            max: max as f64,
            backoff: if self.backoff.is_finite() {
                self.backoff.clamp(0.5, 0.99)
            } else {
                DEFAULT_BACKOFF
            },
        };
        let learned = Learned::new(&rule, self.initial);
        let granted = learned.limit();
        #[cfg(feature = "metrics")]
        let gauge = {
            let gauge = metrics::gauge!(LIMIT_GAUGE, "name" => self.name.to_string());
            gauge.set(granted as f64);
            gauge
        };
        AdaptiveLimit {
            shared: Arc::new(Shared {
                name: self.name,
                rule,
                slow_call: self.slow_call,
                max_queue: self.max_queue,
                queue_timeout: self.queue_timeout,
                events: self.events,
                semaphore: Arc::new(Semaphore::new(granted)),
                state: Mutex::new(State {
                    learned,
                    granted,
                    owed: 0,
                }),
                epoch: AtomicU64::new(0),
                in_flight: AtomicUsize::new(0),
                queued: AtomicUsize::new(0),
                overloads: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                #[cfg(feature = "metrics")]
                gauge,
            }),
        }
    }
}

impl AdaptiveLimit {
    /// A builder with the defaults.
    pub fn builder() -> AdaptiveLimitBuilder {
        AdaptiveLimitBuilder {
            name: Arc::from("adaptive"),
            initial: DEFAULT_INITIAL,
            min: 1,
            max: DEFAULT_MAX,
            backoff: DEFAULT_BACKOFF,
            slow_call: None,
            max_queue: 0,
            queue_timeout: None,
            events: Events::none(),
        }
    }

    /// Takes a place if the limit is not in flight; never waits.
    pub fn try_acquire(&self) -> Result<LimitPermit, LimitReached> {
        match Arc::clone(&self.shared.semaphore).try_acquire_owned() {
            Ok(permit) => Ok(self.shared.admit(permit)),
            Err(_) => Err(self.shared.reject()),
        }
    }

    /// Takes a place, waiting in the queue if there is room (first come,
    /// first served) for at most the queue timeout. Dropping the future
    /// leaves the queue.
    pub async fn acquire(&self) -> Result<LimitPermit, LimitReached> {
        let shared = &self.shared;
        if let Ok(permit) = Arc::clone(&shared.semaphore).try_acquire_owned() {
            return Ok(shared.admit(permit));
        }
        let Some(_slot) = QueueSlot::take(&shared.queued, shared.max_queue) else {
            return Err(shared.reject());
        };
        let wait = Arc::clone(&shared.semaphore).acquire_owned();
        let acquired = match shared.queue_timeout {
            Some(limit) => tokio::time::timeout(limit, wait).await.ok(),
            None => Some(wait.await),
        };
        match acquired {
            Some(Ok(permit)) => Ok(shared.admit(permit)),
            // Never closed; a closed one admits nobody.
            Some(Err(_)) | None => Err(shared.reject()),
        }
    }

    /// Runs `op` under the limit and learns from its result, judged by its
    /// [`AsFailure`] answer. A refusal is [`Error::LimitReached`].
    pub async fn call<T, E, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        let permit = self.acquire().await?;
        let result = op().await.map_err(Error::judged);
        permit.record(&match &result {
            Ok(_) => Outcome::Success,
            Err(error) => Outcome::Failure(error.failure()),
        });
        result
    }

    /// A tower layer sharing this limit among the services it wraps.
    pub fn layer(&self) -> AdaptiveLimitLayer {
        AdaptiveLimitLayer::new(self.clone())
    }

    /// The limit's name.
    pub fn name(&self) -> &Arc<str> {
        &self.shared.name
    }

    /// The learned limit now.
    pub fn limit(&self) -> usize {
        self.shared.lock().learned.limit()
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// The limit, the calls in flight and waiting, and counts so far.
    pub fn stats(&self) -> AdaptiveStats {
        AdaptiveStats {
            limit: self.limit(),
            in_flight: self.in_flight(),
            queued: self.shared.queued.load(Ordering::Acquire),
            overloads: self.shared.overloads.load(Ordering::Relaxed),
            rejected: self.shared.rejected.load(Ordering::Relaxed),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is left whole at every step: a panic elsewhere cannot
        // leave it half-changed.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn admit(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> LimitPermit {
        let in_flight = self.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        LimitPermit {
            shared: Arc::clone(self),
            permit: Some(permit),
            epoch: self.epoch.load(Ordering::Acquire),
            in_flight,
            started: self.slow_call.map(|_| Instant::now()),
        }
    }

    fn reject(&self) -> LimitReached {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        self.events.emit(Event::Rejected {
            name: self.name.clone(),
            by: Rejection::LimitReached,
        });
        LimitReached {
            name: self.name.clone(),
            limit: self.lock().learned.limit(),
        }
    }

    /// Gives back `permit` and learns from how its call ended (`None`:
    /// nothing to learn).
    fn release(&self, permit: OwnedSemaphorePermit, ended: Option<Ended>) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        let mut state = self.lock();
        match ended {
            Some(Ended::Served { in_flight }) => state.learned.success(&self.rule, in_flight),
            Some(Ended::Overloaded { epoch }) => {
                self.overloads.fetch_add(1, Ordering::Relaxed);
                state.learned.overload(&self.rule, epoch);
                self.epoch.store(state.learned.epoch(), Ordering::Release);
            }
            None => {}
        }
        if state.owed > 0 {
            state.owed -= 1;
            permit.forget();
        } else {
            drop(permit);
        }
        let (from, to) = (state.granted, state.learned.limit());
        if from == to {
            return;
        }
        if to > from {
            let mut added = to - from;
            let repaid = added.min(state.owed);
            state.owed -= repaid;
            added -= repaid;
            self.semaphore.add_permits(added);
        } else {
            let cut = from - to;
            let forgotten = self.semaphore.forget_permits(cut);
            state.owed += cut - forgotten;
        }
        state.granted = to;
        drop(state);
        #[cfg(feature = "metrics")]
        self.gauge.set(to as f64);
        self.events.emit(Event::LimitChanged {
            name: self.name.clone(),
            from,
            to,
        });
    }
}

/// How a call ended, for the rule.
#[derive(Debug, Clone, Copy)]
enum Ended {
    Served { in_flight: usize },
    Overloaded { epoch: u64 },
}

impl LimitPermit {
    /// The call was served.
    pub fn success(self) {
        self.record(&Outcome::Success);
    }

    /// The target was over capacity.
    pub fn overload(mut self) {
        self.end(Some(Ended::Overloaded { epoch: self.epoch }));
    }

    /// Learns from how the call ended: a success (unless slower than
    /// `slow_call`) may raise the limit; a failure of kind `RateLimited`,
    /// `Overloaded` or `Timeout` lowers it; any other failure teaches nothing.
    pub fn record(mut self, outcome: &Outcome) {
        let overloaded = Ended::Overloaded { epoch: self.epoch };
        let ended = match outcome {
            Outcome::Success => match self.shared.slow_call.zip(self.started) {
                Some((slow, started)) if started.elapsed() > slow => Some(overloaded),
                _ => Some(Ended::Served {
                    in_flight: self.in_flight,
                }),
            },
            Outcome::Failure(failure) => match failure.kind {
                FailureKind::RateLimited | FailureKind::Overloaded | FailureKind::Timeout => {
                    Some(overloaded)
                }
                _ => None,
            },
        };
        self.end(ended);
    }

    fn end(&mut self, ended: Option<Ended>) {
        if let Some(permit) = self.permit.take() {
            self.shared.release(permit, ended);
        }
    }
}

impl Drop for LimitPermit {
    fn drop(&mut self) {
        self.end(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Failure;

    fn overload() -> Outcome {
        Outcome::Failure(Failure::new(FailureKind::Overloaded))
    }

    #[tokio::test]
    async fn a_fallen_limit_admits_no_more_than_itself_even_with_calls_in_flight() {
        let limit = AdaptiveLimit::builder().initial(10).build();
        let mut held: Vec<_> = (0..10).map(|_| limit.try_acquire().unwrap()).collect();
        held.pop().unwrap().record(&overload());
        assert_eq!(limit.limit(), 9);
        // 9 in flight, a limit of 9: full.
        assert!(limit.try_acquire().is_err());
        let epoch = limit.shared.lock().learned.epoch();
        let late = limit.try_acquire();
        assert!(late.is_err());
        // A second overload of the same round lowers nothing.
        held.pop().unwrap().record(&overload());
        assert_eq!((limit.limit(), epoch), (9, 1));
        // 8 in flight, 9 places: one free.
        let one = limit.try_acquire().unwrap();
        one.record(&overload());
        assert_eq!(limit.limit(), 8);
        assert_eq!(limit.in_flight(), 8);
        assert!(limit.try_acquire().is_err(), "8 in flight: the limit");
        drop(held.pop());
        assert!(limit.try_acquire().is_ok());
    }

    #[tokio::test]
    async fn a_limit_that_falls_below_the_calls_in_flight_owes_the_difference() {
        let limit = AdaptiveLimit::builder().initial(20).backoff(0.5).build();
        let mut held: Vec<_> = (0..20).map(|_| limit.try_acquire().unwrap()).collect();
        held.pop().unwrap().record(&overload());
        assert_eq!(limit.limit(), 10);
        // 19 in flight against 10: nothing is admitted until 10 are left.
        for _ in 0..9 {
            drop(held.pop());
            assert!(
                limit.try_acquire().is_err(),
                "{} in flight",
                limit.in_flight()
            );
        }
        drop(held.pop());
        assert_eq!(limit.in_flight(), 9);
        let permit = limit.try_acquire().unwrap();
        assert!(limit.try_acquire().is_err());
        drop(permit);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_success_is_an_overload_and_a_waiter_is_served_in_turn() {
        let limit = AdaptiveLimit::builder()
            .initial(1)
            .slow_call(Duration::from_secs(2))
            .max_queue(1)
            .queue_timeout(Duration::from_secs(5))
            .build();
        let first = limit.try_acquire().unwrap();
        let waiter = tokio::spawn({
            let limit = limit.clone();
            async move { limit.acquire().await.map(drop) }
        });
        tokio::task::yield_now().await;
        assert_eq!(limit.stats().queued, 1);
        assert!(limit.acquire().await.is_err(), "the queue holds one");
        tokio::time::sleep(Duration::from_secs(3)).await;
        first.success();
        assert_eq!(limit.stats().overloads, 1, "slower than slow_call");
        waiter.await.unwrap().unwrap();
        assert_eq!(limit.limit(), 1, "min 1");
    }

    #[tokio::test]
    async fn failures_that_say_nothing_of_capacity_teach_nothing() {
        let limit = AdaptiveLimit::builder().initial(2).build();
        for kind in [FailureKind::Transient, FailureKind::InvalidRequest] {
            let permit = limit.try_acquire().unwrap();
            let _other = limit.try_acquire().unwrap();
            permit.record(&Outcome::Failure(Failure::new(kind)));
        }
        drop(limit.try_acquire().unwrap());
        assert_eq!(
            limit.stats(),
            AdaptiveStats {
                limit: 2,
                in_flight: 0,
                queued: 0,
                overloads: 0,
                rejected: 0,
            }
        );
    }
}
