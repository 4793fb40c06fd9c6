//! Least-loaded fallback: spread load across equivalent targets (several
//! keys, regions or replicas of one model) by how loaded each is now, as
//! linkerd and Finagle balance: the cost of a target is its requests in
//! flight (this one included) times its peak-EWMA latency, times its
//! [`Target::load_factor`] (a rate limit nearly spent). The first target is
//! the cheaper of two drawn at random (power of two choices: no herd on one
//! target, no global scan under a lock); the run fails over through the
//! others, cheapest first.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::attempt::{AllFailed, AttemptInfo, FailoverOn, Success};
use super::run::Common;
use super::sequential::in_order;
use super::{Fallback, Scope, Target};
use crate::classify::AsFailure;
use crate::events::Events;
use crate::rng::Rng;

/// How fast a latency peak is forgotten: the weight of an old estimate
/// halves in about `DEFAULT_DECAY * ln 2`.
pub const DEFAULT_DECAY: Duration = Duration::from_secs(10);

/// The latency, in seconds, counted for a target before any call of it
/// succeeded (a microsecond: below any real model's).
const UNMEASURED: f64 = 1e-6;

/// The load of each target, shared by the runs of one strategy.
#[derive(Debug)]
pub struct TargetLoads {
    loads: Box<[Load]>,
    decay: Duration,
}

#[derive(Debug, Default)]
struct Load {
    in_flight: AtomicUsize,
    latency: Mutex<Option<PeakEwma>>,
}

/// A latency estimate that jumps up to a slower observation at once and
/// decays towards faster ones.
#[derive(Debug, Clone, Copy)]
struct PeakEwma {
    seconds: f64,
    at: Instant,
}

/// One target's load now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadSnapshot {
    /// Requests in flight.
    pub in_flight: usize,
    /// Its peak-EWMA latency, once a call has succeeded.
    pub latency: Option<Duration>,
}

impl TargetLoads {
    /// Loads for `targets` targets, forgetting latency peaks over `decay`.
    pub fn new(targets: usize, decay: Duration) -> TargetLoads {
        TargetLoads {
            loads: (0..targets).map(|_| Load::default()).collect(),
            decay: decay.max(Duration::from_millis(1)),
        }
    }

    /// Each target's load now, in target order.
    pub fn snapshot(&self) -> Vec<LoadSnapshot> {
        self.loads
            .iter()
            .map(|load| LoadSnapshot {
                in_flight: load.in_flight.load(Ordering::Relaxed),
                latency: lock(&load.latency).map(|ewma| Duration::from_secs_f64(ewma.seconds)),
            })
            .collect()
    }

    /// What one more request costs on target `index` (its `factor` from
    /// [`Target::load_factor`]); a target never measured counts a latency of
    /// [`UNMEASURED`], so it is tried (and measured) before the others, and
    /// unmeasured targets share requests by what they have in flight.
    fn cost(&self, index: usize, factor: f64) -> f64 {
        let Some(load) = self.loads.get(index) else {
            return f64::INFINITY;
        };
        let latency = lock(&load.latency).map_or(UNMEASURED, |ewma| ewma.seconds);
        let in_flight = load.in_flight.load(Ordering::Relaxed) as f64;
        (in_flight + 1.0) * latency * factor.max(1.0)
    }

    /// Counts a call of target `index` in flight until the guard is dropped.
    fn start(&self, index: usize) -> Option<InFlight<'_>> {
        let load = self.loads.get(index)?;
        load.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(InFlight {
            load,
            decay: self.decay,
            started: Instant::now(),
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A call in flight on one target.
struct InFlight<'a> {
    load: &'a Load,
    decay: Duration,
    started: Instant,
}

impl InFlight<'_> {
    /// The call succeeded: its latency joins the estimate.
    fn succeeded(self) {
        let now = Instant::now();
        let seconds = now.duration_since(self.started).as_secs_f64();
        let mut latency = lock(&self.load.latency);
        let next = match *latency {
            Some(old) if seconds < old.seconds => {
                let elapsed = now.duration_since(old.at).as_secs_f64();
                let weight = (-elapsed / self.decay.as_secs_f64()).exp();
                old.seconds * weight + seconds * (1.0 - weight)
            }
            // A slower call raises the estimate at once (the peak).
            _ => seconds,
        };
        *latency = Some(PeakEwma {
            seconds: next,
            at: now,
        });
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.load.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Picks the first target by power of two choices on load, then fails over
/// through the others from the least loaded, as
/// [`Sequential`](super::Sequential) does. Unavailable targets are passed over.
///
/// ```
/// use std::sync::Arc;
/// use steadfast::fallback::LeastLoaded;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let keys: [Arc<str>; 3] = ["key-a".into(), "key-b".into(), "key-c".into()];
/// let balance = LeastLoaded::new(keys.len());
/// let answer = balance
///     .run(&keys, |key, _| {
///         let key = key.clone();
///         async move { Ok::<_, std::io::Error>(format!("answered with {key}")) }
///     })
///     .await
///     .unwrap();
/// assert!(answer.value.starts_with("answered with key-"));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct LeastLoaded {
    common: Common,
    loads: Arc<TargetLoads>,
    rng: Arc<Rng>,
}

impl LeastLoaded {
    /// A strategy named `"least_loaded"` over `targets` targets, forgetting
    /// latency peaks over [`DEFAULT_DECAY`].
    pub fn new(targets: usize) -> LeastLoaded {
        LeastLoaded {
            common: Common::new("least_loaded"),
            loads: Arc::new(TargetLoads::new(targets, DEFAULT_DECAY)),
            rng: Arc::new(Rng::from_entropy()),
        }
    }

    super::common_setters!(LeastLoaded);

    /// Forgets latency peaks over `decay` instead.
    pub fn decay(mut self, decay: Duration) -> LeastLoaded {
        self.loads = Arc::new(TargetLoads::new(self.loads.loads.len(), decay));
        self
    }

    /// The random source (seed it for reproducible runs).
    pub fn rng(mut self, rng: Rng) -> LeastLoaded {
        self.rng = Arc::new(rng);
        self
    }

    /// The loads this strategy keeps.
    pub fn loads(&self) -> &Arc<TargetLoads> {
        &self.loads
    }

    /// The order a run would try `targets` in: the cheaper of two available
    /// targets drawn at random, then the others by rising cost (ties by index).
    pub fn order<T: Target>(&self, targets: &[T]) -> Vec<usize> {
        self.order_in(Scope::all(), targets)
    }

    /// [`LeastLoaded::order`], the first target drawn among those of `scope`.
    fn order_in<T: Target>(&self, scope: Scope<'_>, targets: &[T]) -> Vec<usize> {
        let costs: Vec<f64> = targets
            .iter()
            .enumerate()
            .map(|(index, target)| self.loads.cost(index, target.load_factor()))
            .collect();
        let available: Vec<usize> = (0..targets.len())
            .filter(|&index| scope.includes(index) && targets[index].is_available())
            .collect();
        let mut order: Vec<usize> = (0..targets.len()).collect();
        order.sort_by(|&a, &b| costs[a].total_cmp(&costs[b]));
        if let Some(first) = self
            .rng
            .better_of_two(&available, |b, a| costs[b] < costs[a])
        {
            if let Some(position) = order.iter().position(|&index| index == first) {
                order[..=position].rotate_right(1);
            }
        }
        order
    }

    super::run_by_fallback!(
        "Runs `call` on the targets in [`LeastLoaded::order`] until one succeeds, counting each call in flight on its target while it runs."
    );
}

impl Fallback for LeastLoaded {
    type Outcome<R, E> = Result<Success<R>, AllFailed<E>>;

    async fn run_in<T, R, E, F, Fut>(
        &self,
        scope: Scope<'_>,
        targets: &[T],
        mut call: F,
    ) -> Result<Success<R>, AllFailed<E>>
    where
        T: Target,
        E: AsFailure,
        F: FnMut(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let loads = &self.loads;
        let tracked = |target: &T, info: AttemptInfo| {
            let in_flight = loads.start(info.index);
            let attempt = call(target, info);
            async move {
                let result = attempt.await;
                if let (Ok(_), Some(in_flight)) = (&result, in_flight) {
                    in_flight.succeeded();
                }
                result
            }
        };
        in_order(
            &self.common,
            scope,
            targets,
            self.order_in(scope, targets),
            tracked,
        )
        .await
    }
}
