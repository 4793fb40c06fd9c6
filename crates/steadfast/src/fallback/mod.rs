//! Fallback strategies: call one of several targets (models, providers,
//! regions) and move on when one fails or is unavailable.
//!
//! | strategy | calls |
//! |---|---|
//! | [`Sequential`] | one at a time, in priority order |
//! | [`Parallel`] | all (or the first `fan_out`) at once; first success wins |
//! | [`Hedged`] | the first; the next one whenever the last is slower than a delay |
//! | [`Weighted`] | a first target by adaptive weight, then the rest by weight |
//! | [`LeastLoaded`] | the less loaded of two (in flight × peak-EWMA latency), then the rest by load |
//! | [`Quorum`] | several at once, until `k` succeed (its own result type) |
//!
//! Targets are the caller's own type implementing [`Target`]: a name, and
//! whether it takes calls now (for instance: its breaker is not open and its
//! health is available); [`Guarded`] is one ready to use, a target behind
//! its own breaker. Every strategy
//! - passes over unavailable targets without calling them, recording a
//!   [`Skipped`](AttemptOutcome::Skipped) attempt with the target's
//!   [`Target::skip_reason`];
//! - moves on only after failures its [`FailoverOn`] predicate accepts (by
//!   default those whose kind [allows failover](crate::FailureKind::allows_failover));
//!   any other failure ends the run with that error;
//! - emits [`Event::FallbackTaken`](crate::events::Event::FallbackTaken) when it
//!   leaves a target for the next (`failure: None` for a skipped one);
//! - reports every [`Attempt`] in its [`Success`] or [`AllFailed`];
//! - runs its calls concurrently inside the caller's task, never spawning:
//!   a call still running when the run ends is dropped and reported
//!   [`Cancelled`](AttemptOutcome::Cancelled).
//!
//! Every strategy also runs within a [`Scope`] ([`Fallback::run_in`]): a
//! deadline, at which calls still running are recorded as timeouts, and the
//! targets it may consider; [`RetryPolicy::passes`](crate::retry::RetryPolicy::passes)
//! runs one in retry passes, the way a gateway route does.
//!
//! The call is a closure `FnMut(&T, AttemptInfo) -> Fut` whose error
//! implements [`AsFailure`].
//!
//! ```
//! use std::sync::Arc;
//! use steadfast::{Failure, FailureKind};
//! use steadfast::fallback::{AttemptOutcome, Sequential, SkipReason, Target};
//!
//! struct Model {
//!     name: Arc<str>,
//!     up: bool,
//! }
//!
//! impl Target for Model {
//!     fn name(&self) -> &Arc<str> {
//!         &self.name
//!     }
//!     fn is_available(&self) -> bool {
//!         self.up
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let models = [
//!     Model { name: "big".into(), up: false },
//!     Model { name: "medium".into(), up: true },
//!     Model { name: "small".into(), up: true },
//! ];
//! let answer = Sequential::new()
//!     .run(&models, |model, _attempt| {
//!         let name = model.name.clone();
//!         async move {
//!             match &*name {
//!                 "medium" => Err(Failure::new(FailureKind::Overloaded)),
//!                 _ => Ok(format!("hello from {name}")),
//!             }
//!         }
//!     })
//!     .await
//!     .unwrap();
//! assert_eq!(answer.value, "hello from small");
//! let outcomes: Vec<_> = answer.attempts.iter().map(|a| a.outcome).collect();
//! assert_eq!(
//!     outcomes,
//!     [
//!         AttemptOutcome::Skipped(SkipReason::UNAVAILABLE),
//!         AttemptOutcome::Failed(Failure::new(FailureKind::Overloaded)),
//!         AttemptOutcome::Served,
//!     ]
//! );
//! # }
//! ```

/// The setters every strategy shares: name, events and failover predicate.
macro_rules! common_setters {
    ($strategy:ident) => {
        /// The name used in events and metrics.
        pub fn name(mut self, name: impl Into<std::sync::Arc<str>>) -> $strategy {
            self.common.name = name.into();
            self
        }

        /// The bus to publish events into.
        pub fn events(mut self, events: Events) -> $strategy {
            self.common.events = events;
            self
        }

        /// Which failures move the run on to the next target; the others end it.
        pub fn fallback_on(mut self, predicate: FailoverOn) -> $strategy {
            self.common.fallback_on = predicate;
            self
        }
    };
}
use common_setters;

/// A strategy's `run`: its [`Fallback::run_in`] over every target, without
/// a deadline.
macro_rules! run_by_fallback {
    ($doc:literal) => {
        run_by_fallback!($doc, Success, AllFailed);
    };
    ($doc:literal, $success:ident, $failed:ident) => {
        #[doc = $doc]
        pub async fn run<T, R, E, F, Fut>(
            &self,
            targets: &[T],
            call: F,
        ) -> Result<$crate::fallback::$success<R>, $crate::fallback::$failed<E>>
        where
            T: $crate::fallback::Target,
            E: $crate::classify::AsFailure,
            F: FnMut(&T, $crate::fallback::AttemptInfo) -> Fut,
            Fut: std::future::Future<Output = Result<R, E>>,
        {
            $crate::fallback::Fallback::run_in(self, $crate::fallback::Scope::all(), targets, call)
                .await
        }
    };
}
use run_by_fallback;

mod attempt;
mod guarded;
mod hedged;
mod least_loaded;
mod parallel;
mod pass;
mod quorum;
mod run;
mod scope;
mod sequential;
mod weighted;
mod weights;

use std::future::Future;
use std::sync::Arc;

/// Why a target was passed over (also at the crate root).
pub use crate::SkipReason;
pub use attempt::{
    AllFailed, Attempt, AttemptInfo, AttemptOutcome, FailoverOn, StopReason, Success,
};
pub use guarded::Guarded;
pub use hedged::Hedged;
pub use least_loaded::{DEFAULT_DECAY, LeastLoaded, LoadSnapshot, TargetLoads};
pub use parallel::Parallel;
pub use pass::{Fallback, MissedRun, PassOutcome, RunReport};
pub use quorum::{Quorum, QuorumFailed, QuorumMiss, QuorumSuccess};
pub use scope::Scope;
pub use sequential::Sequential;
pub use weighted::{Pick, Weighted};
pub use weights::{FAILURE_PENALTY, MIN_RAMP, TargetWeights, WeightSnapshot};

use crate::classify::AsFailure;

/// Something a strategy can call: a model, a provider, a region.
pub trait Target {
    /// The name used in attempts and events.
    fn name(&self) -> &Arc<str>;

    /// Whether the target takes calls now; unavailable targets are skipped.
    fn is_available(&self) -> bool {
        true
    }

    /// Why the target is unavailable, asked when [`Target::is_available`]
    /// says it is not. Default: [`SkipReason::UNAVAILABLE`].
    fn skip_reason(&self) -> SkipReason {
        SkipReason::UNAVAILABLE
    }

    /// How much more than its load says one more request costs on this
    /// target (at least 1): [`LeastLoaded`] weighs its load by it, e.g. by
    /// the inverse of the share of a rate limit the target has left.
    fn load_factor(&self) -> f64 {
        1.0
    }
}

/// A bare name is an always-available target.
impl Target for Arc<str> {
    fn name(&self) -> &Arc<str> {
        self
    }
}

impl<T: Target + ?Sized> Target for Arc<T> {
    fn name(&self) -> &Arc<str> {
        (**self).name()
    }

    fn is_available(&self) -> bool {
        (**self).is_available()
    }

    fn skip_reason(&self) -> SkipReason {
        (**self).skip_reason()
    }

    fn load_factor(&self) -> f64 {
        (**self).load_factor()
    }
}

impl<T: Target + ?Sized> Target for &T {
    fn name(&self) -> &Arc<str> {
        (**self).name()
    }

    fn is_available(&self) -> bool {
        (**self).is_available()
    }

    fn skip_reason(&self) -> SkipReason {
        (**self).skip_reason()
    }

    fn load_factor(&self) -> f64 {
        (**self).load_factor()
    }
}

/// One of the strategies returning a single answer, as a gateway route holds
/// it. [`Quorum`] returns `k` answers and is used on its own.
#[derive(Debug, Clone)]
pub enum Strategy {
    /// See [`Sequential`].
    Sequential(Sequential),
    /// See [`Parallel`].
    Parallel(Parallel),
    /// See [`Hedged`].
    Hedged(Hedged),
    /// See [`Weighted`].
    Weighted(Weighted),
    /// See [`LeastLoaded`].
    LeastLoaded(LeastLoaded),
}

impl Strategy {
    run_by_fallback!("Runs `call` on `targets` with the configured strategy.");
}

impl Fallback for Strategy {
    type Outcome<R, E> = Result<Success<R>, AllFailed<E>>;

    async fn run_in<T, R, E, F, Fut>(
        &self,
        scope: Scope<'_>,
        targets: &[T],
        call: F,
    ) -> Result<Success<R>, AllFailed<E>>
    where
        T: Target,
        E: AsFailure,
        F: FnMut(&T, AttemptInfo) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        match self {
            Strategy::Sequential(strategy) => strategy.run_in(scope, targets, call).await,
            Strategy::Parallel(strategy) => strategy.run_in(scope, targets, call).await,
            Strategy::Hedged(strategy) => strategy.run_in(scope, targets, call).await,
            Strategy::Weighted(strategy) => strategy.run_in(scope, targets, call).await,
            Strategy::LeastLoaded(strategy) => strategy.run_in(scope, targets, call).await,
        }
    }
}

impl From<Sequential> for Strategy {
    fn from(strategy: Sequential) -> Strategy {
        Strategy::Sequential(strategy)
    }
}

impl From<Parallel> for Strategy {
    fn from(strategy: Parallel) -> Strategy {
        Strategy::Parallel(strategy)
    }
}

impl From<Hedged> for Strategy {
    fn from(strategy: Hedged) -> Strategy {
        Strategy::Hedged(strategy)
    }
}

impl From<Weighted> for Strategy {
    fn from(strategy: Weighted) -> Strategy {
        Strategy::Weighted(strategy)
    }
}

impl From<LeastLoaded> for Strategy {
    fn from(strategy: LeastLoaded) -> Strategy {
        Strategy::LeastLoaded(strategy)
    }
}
