//! Hedging: when an attempt is slow, start another and take the first success.
//!
//! A [`HedgePolicy`] starts attempt 1; if no attempt has succeeded after the
//! [`HedgeDelay`], it starts attempt 2, and so on up to `max_hedges` extra
//! attempts, each one delay after the previous. The first *success* wins and
//! every other attempt is dropped (cancelled) at once. A failed attempt does
//! not end the call while others run; when all attempts started have failed,
//! the last failure is returned. Hedging is not retry: an attempt that fails
//! before the delay with nothing else running ends the call (stack a
//! [`RetryPolicy`](crate::retry::RetryPolicy) around it to retry).
//!
//! Attempts run concurrently inside the caller's task (no spawning). An
//! optional [`Budget`] caps the extra load: every call deposits, every hedge
//! withdraws, and a spent budget starts no more hedges for that call.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::hedge::{HedgeDelay, HedgePolicy};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let hedge = HedgePolicy::builder()
//!     .delay(HedgeDelay::Fixed(Duration::from_millis(10)))
//!     .build();
//! let answer = hedge
//!     .call(|attempt| async move {
//!         if attempt == 1 {
//!             tokio::time::sleep(Duration::from_secs(60)).await; // stuck
//!         }
//!         Ok::<_, std::io::Error>(attempt)
//!     })
//!     .await;
//! assert_eq!(answer.ok(), Some(2));
//! # }
//! ```

mod config;
mod layer;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use futures_util::future::poll_fn;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

pub use config::{HedgeBuilder, HedgeDelay};
pub use layer::{HedgeLayer, HedgeService, ResponseFuture};

use crate::budget::Budget;
use crate::classify::{AsFailure, ByFailure, Classify};
use crate::events::{Event, Events};
use crate::latency::LatencyTracker;
use crate::{BoxError, Error, Failure};

/// A hedging policy. Cheap to clone; clones share configuration, latency
/// tracker and statistics.
#[derive(Debug, Clone)]
pub struct HedgePolicy {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    name: Arc<str>,
    delay: HedgeDelay,
    max_hedges: u32,
    budget: Option<Budget>,
    events: Events,
    latency: LatencyTracker,
    counters: Counters,
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    hedges: AtomicU64,
    hedge_wins: AtomicU64,
}

/// A snapshot of a hedging policy's counters since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HedgeStats {
    /// Calls started.
    pub calls: u64,
    /// Extra attempts started.
    pub hedges: u64,
    /// Calls won by an extra attempt.
    pub hedge_wins: u64,
}

/// What woke the hedging loop.
enum Step<R> {
    Finished(u32, Duration, R),
    Hedge,
}

impl HedgePolicy {
    /// A builder with the defaults listed on [`HedgeBuilder`].
    pub fn builder() -> HedgeBuilder {
        HedgeBuilder::default()
    }

    /// The policy's name.
    pub fn name(&self) -> &Arc<str> {
        &self.shared.name
    }

    /// The counters since the policy was built.
    pub fn stats(&self) -> HedgeStats {
        let counters = &self.shared.counters;
        HedgeStats {
            calls: counters.calls.load(Ordering::Relaxed),
            hedges: counters.hedges.load(Ordering::Relaxed),
            hedge_wins: counters.hedge_wins.load(Ordering::Relaxed),
        }
    }

    /// The latencies of successful attempts, as used by [`HedgeDelay::Percentile`].
    pub fn latency(&self) -> &LatencyTracker {
        &self.shared.latency
    }

    /// The delay before the next hedge, as things stand.
    pub fn current_delay(&self) -> Duration {
        match self.shared.delay {
            HedgeDelay::Fixed(delay) => delay,
            HedgeDelay::Percentile { q, fallback } => {
                self.shared.latency.percentile(q).unwrap_or(fallback)
            }
        }
    }

    /// Runs `op(attempt)` (attempts count from 1), hedging slow attempts; any
    /// `Err` is a failure, judged by its own [`AsFailure`] answer.
    pub async fn call<T, E, F, Fut>(&self, mut op: F) -> Result<T, Error>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        self.call_classified(&ByFailure, move |attempt| {
            let running = op(attempt);
            async move { running.await.map_err(Error::judged) }
        })
        .await
    }

    /// Like [`HedgePolicy::call`], with `classifier` deciding which results
    /// are successes. An `Ok` judged a failure does not win, but is returned
    /// if it is the last failure.
    pub async fn call_classified<T, E, C, F, Fut>(
        &self,
        classifier: &C,
        mut op: F,
    ) -> Result<T, Error>
    where
        C: Classify<T, E>,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        let shared = &*self.shared;
        shared.counters.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(budget) = &shared.budget {
            budget.deposit();
        }
        let start = Instant::now();
        let delay = self.current_delay();
        let mut running = FuturesUnordered::new();
        running.push(timed(1, op(1)));
        let mut started = 1;
        let mut may_hedge = shared.max_hedges > 0;
        let mut timer = pin!(tokio::time::sleep(delay));
        loop {
            let step = poll_fn(|cx| {
                if let Poll::Ready(Some((attempt, elapsed, result))) = running.poll_next_unpin(cx) {
                    return Poll::Ready(Step::Finished(attempt, elapsed, result));
                }
                if may_hedge && timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Step::Hedge);
                }
                Poll::Pending
            })
            .await;
            match step {
                Step::Finished(attempt, elapsed, result) => {
                    let outcome = classifier.classify(&result);
                    let result = result.map_err(|e| {
                        Error::from_boxed(
                            e.into(),
                            outcome.failure().unwrap_or(Failure::transient()),
                        )
                    });
                    if outcome.is_success() {
                        shared.latency.record(elapsed);
                        if attempt > 1 {
                            shared.counters.hedge_wins.fetch_add(1, Ordering::Relaxed);
                        }
                        return result;
                    }
                    if running.is_empty() {
                        return result;
                    }
                }
                Step::Hedge => {
                    if !shared.budget.as_ref().is_none_or(Budget::try_withdraw) {
                        may_hedge = false;
                        continue;
                    }
                    started += 1;
                    shared.counters.hedges.fetch_add(1, Ordering::Relaxed);
                    shared.events.emit(Event::HedgeStarted {
                        name: shared.name.clone(),
                        attempt: started,
                        after: start.elapsed(),
                    });
                    running.push(timed(started, op(started)));
                    may_hedge = started <= shared.max_hedges;
                    timer.as_mut().reset(Instant::now() + delay);
                }
            }
        }
    }
}

/// Runs one attempt and measures how long it took.
async fn timed<Fut: Future>(attempt: u32, running: Fut) -> (u32, Duration, Fut::Output) {
    let start = Instant::now();
    let output = running.await;
    (attempt, start.elapsed(), output)
}
