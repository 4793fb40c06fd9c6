//! Circuit breaker: stops calling a target that keeps failing or is too slow,
//! lets a few probes through after a pause, and closes again when they pass.
//!
//! A [`Breaker`] is a cheap-to-clone policy handle. Ask it for a permit before a
//! call and report the outcome after ([`Breaker::try_acquire`],
//! [`Permit::record`]) — streaming callers report when the stream ends — or let
//! [`Breaker::call`] do both. [`BreakerLayer`] ([`Breaker::layer`]) wraps a tower service
//! in a [`BreakerService`].
//!
//! - **Closed**: calls flow; outcomes fill a [`SlidingWindow`] (the last N
//!   calls, or the last D of time in buckets). Once the window holds
//!   `min_calls`, a failure rate or slow-call rate at or above its threshold
//!   trips the breaker, and so does a run of `consecutive_failures`. Only
//!   failures that [count against the target](crate::FailureKind::counts_against_target)
//!   count; others are ignored.
//! - **Open**: calls are refused with [`BreakerOpen`] (saying how long is
//!   left) for `open_for`, multiplied by `open_for_multiplier` for every trip in
//!   a row without a successful close, capped by `max_open_for`.
//! - **HalfOpen**: entered lazily by the first permit asked for after the open
//!   time (no timer task). Up to `half_open_calls` probes run at once; a
//!   counted failure or a slow probe reopens, `half_open_calls` successes
//!   close (clearing the window and the trip streak).
//! - **ForcedOpen** / **Disabled**: set by hand, left only by hand.
//!
//! The hot path takes no lock, allocates nothing and reads the clock only when
//! it must (open state, slow-call tracking, time windows). See the `machine`
//! and `window` sources for the approximations made under races.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::breaker::{Breaker, State};
//! use steadfast::Failure;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let breaker = Breaker::builder("gpt")
//!     .consecutive_failures(2)
//!     .open_for(Duration::from_secs(30))
//!     .build();
//!
//! let answer = breaker.call(|| async { Ok::<_, std::io::Error>("hello") }).await?;
//! assert_eq!(answer, "hello");
//!
//! // The permit API, for callers that learn the outcome later.
//! breaker.try_acquire()?.record_failure(Failure::transient());
//! breaker.try_acquire()?.record_failure(Failure::transient());
//! assert_eq!(breaker.state(), State::Open);
//! assert!(breaker.try_acquire().is_err());
//! # Ok(()) }
//! ```

mod builder;
mod clock;
mod config;
mod error;
mod future;
mod layer;
mod machine;
mod permit;
mod probes;
mod stats;
mod window;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use self::builder::BreakerBuilder;
pub use self::config::{
    BreakerConfig, InvalidBreakerConfig, MAX_BUCKETS, MAX_COUNT_WINDOW, MAX_HALF_OPEN_CALLS,
    SlidingWindow,
};
pub use self::error::BreakerOpen;
pub use self::future::ResponseFuture;
pub use self::layer::{BreakerLayer, BreakerService};
pub use self::permit::{OwnedPermit, Permit};
pub use self::stats::BreakerStats;
pub use crate::states::State;

use self::machine::Machine;
use crate::classify::{AsFailure, ByFailure, Classify};
use crate::events::Events;
use crate::{BoxError, Error, Failure};

/// A circuit breaker. Clones share one state.
#[derive(Clone)]
pub struct Breaker {
    machine: Arc<Machine>,
}

impl Breaker {
    /// Starts building a breaker named `name` with the default configuration.
    pub fn builder(name: impl Into<Arc<str>>) -> BreakerBuilder {
        BreakerBuilder::new(name.into())
    }

    /// A breaker with `config` that publishes no events (metrics only).
    pub fn new(name: impl Into<Arc<str>>, config: BreakerConfig) -> Breaker {
        Breaker::with_events(name.into(), config, Events::none())
    }

    /// A breaker with `config` publishing into `events`.
    pub fn with_events(
        name: impl Into<Arc<str>>,
        config: BreakerConfig,
        events: Events,
    ) -> Breaker {
        Breaker {
            machine: Arc::new(Machine::new(name.into(), config, events)),
        }
    }

    /// Asks to make one call. Refused while open, forced open, or half-open
    /// with every probe slot taken, publishing `Event::Rejected`; the refusal's
    /// `retry_after` is the open time left when open, `None` otherwise.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, BreakerOpen> {
        let ticket = self.machine.acquire()?;
        Ok(Permit::new(&self.machine, ticket))
    }

    /// As [`try_acquire`](Self::try_acquire), for a permit that must outlive
    /// this borrow (moved into a task or a stream). Costs one `Arc` clone.
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit, BreakerOpen> {
        let ticket = self.machine.acquire()?;
        Ok(OwnedPermit::new(Arc::clone(&self.machine), ticket))
    }

    /// Runs `op` if the breaker lets it, and records its outcome: `Ok` is a
    /// success, an error is judged by its own [`AsFailure`] answer (a failure
    /// that spares the target, such as an invalid request, is not counted
    /// against it), and a local rejection by an inner policy
    /// ([`Error::is_local_rejection`]) is ignored.
    pub async fn call<T, E, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        self.call_classified(&ByFailure, op).await
    }

    /// As [`call`](Self::call), with `classifier` judging the result. Its
    /// verdict on an error becomes that error's [`Error::failure`]; an `Ok`
    /// judged a failure is counted as one and still returned.
    pub async fn call_classified<T, E, C, F, Fut>(&self, classifier: &C, op: F) -> Result<T, Error>
    where
        C: Classify<T, E>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<BoxError>,
    {
        let permit = self.try_acquire()?;
        let result = op().await;
        let outcome = classifier.classify(&result);
        let failure = outcome.failure().unwrap_or_else(Failure::transient);
        let result = result.map_err(|error| Error::from_boxed(error.into(), failure));
        permit.settle(&result, outcome);
        result
    }

    /// The state now (`Open` is reported until a permit is asked for after the
    /// open time has passed).
    pub fn state(&self) -> State {
        self.machine.state()
    }

    /// Whether a call asking now could be let through (closed, disabled,
    /// half-open, or open with its open time over), without taking a permit.
    /// Routers use it to pass over open breakers; a half-open breaker may
    /// still refuse when all its probe slots are taken.
    pub fn would_admit(&self) -> bool {
        self.machine.would_admit()
    }

    /// How long the breaker stays open yet — zero once its open time is over
    /// (it becomes half-open at the next permit asked for) — or `None` when
    /// it is not open. Takes no permit; callers that probe a target at the
    /// end of its open time (rather than wait for live traffic) read it.
    pub fn open_remaining(&self) -> Option<Duration> {
        self.machine.open_remaining(self.machine.state())
    }

    /// The breaker's name.
    pub fn name(&self) -> &Arc<str> {
        &self.machine.name
    }

    /// The configuration in force (after clamping out-of-range values).
    pub fn config(&self) -> &BreakerConfig {
        &self.machine.config
    }

    /// Lifetime counters and the current window.
    pub fn stats(&self) -> BreakerStats {
        self.machine.stats()
    }

    /// Opens now for the open duration, as if the breaker had judged so
    /// (counts as a trip and grows the next open duration).
    pub fn trip(&self) {
        self.machine.trip();
    }

    /// Refuses every call until [`reset`](Self::reset) or [`disable`](Self::disable).
    pub fn force_open(&self) {
        self.machine.force_open();
    }

    /// Lets every call through and judges none, until [`reset`](Self::reset).
    pub fn disable(&self) {
        self.machine.disable();
    }

    /// Closes with an empty window and no trip streak. Outcomes of permits
    /// granted before are counted as stale.
    pub fn reset(&self) {
        self.machine.reset();
    }

    /// Adopts a state decided elsewhere (a shared-state backend, another
    /// replica) without counting a local trip or growing the open duration.
    /// `open_for` applies to `Open` (default: the configured `open_for`) and
    /// refreshes the deadline when already open. Entering `Closed` clears the
    /// window. Returns whether the state changed.
    pub fn apply_remote(&self, state: State, open_for: Option<Duration>) -> bool {
        self.machine.apply_remote(state, open_for)
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.machine.name)
            .field("state", &self.state())
            .finish()
    }
}
