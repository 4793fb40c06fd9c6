//! Fault injection: a policy that adds latency, errors, hangs and rate-limit
//! failures to calls, from a seeded random source, for chaos tests of your own
//! code and of the gateway.
//!
//! The same seed and configuration give the same sequence of decisions. An
//! injector with every rate at zero ([`FaultPolicy::off`]) costs one atomic
//! load per call: no random draw, no await point. Rates can be changed while
//! calls run ([`FaultPolicy::set_config`]). Each injected fault emits
//! [`Event::FaultInjected`] and is counted in [`FaultPolicy::stats`].
//!
//! ```
//! use std::time::Duration;
//! use steadfast::fault::{FaultConfig, FaultPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let chaos = FaultPolicy::new(FaultConfig {
//!     error_rate: 1.0,
//!     seed: Some(42),
//!     ..FaultConfig::default()
//! });
//! let answer = chaos.call(|| async { Ok::<_, std::io::Error>("hi") }).await;
//! assert!(matches!(answer, Err(steadfast::Error::Injected(_))));
//! chaos.set_config(&FaultConfig::default());
//! assert!(chaos.inject().await.is_ok());
//! # }
//! ```

mod config;
mod error;
mod layer;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use self::config::FaultConfig;
use self::config::Knobs;
pub use self::error::InjectedFault;
pub use self::layer::{FaultLayer, FaultService, ResponseFuture};
use crate::classify::AsFailure;
use crate::events::{Event, Events};
use crate::rng::Rng;
pub use crate::states::InjectedKind;
use crate::{BoxError, Error, Failure};

/// Injects faults into calls. Cheap to clone: clones share configuration,
/// random source and stats.
#[derive(Debug, Clone)]
pub struct FaultPolicy {
    shared: Arc<Shared>,
}

/// What every clone of an injector shares.
#[derive(Debug)]
struct Shared {
    name: Arc<str>,
    events: Events,
    seed: Option<u64>,
    rng: Rng,
    knobs: Knobs,
    /// Injected faults, indexed like [`KINDS`].
    injected: [AtomicU64; 4],
}

/// The order of [`Shared::injected`].
const KINDS: [InjectedKind; 4] = [
    InjectedKind::Latency,
    InjectedKind::Error,
    InjectedKind::Timeout,
    InjectedKind::RateLimit,
];

/// Counts of injected faults by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultStats {
    /// Calls delayed.
    pub latency: u64,
    /// Calls failed with an error.
    pub errors: u64,
    /// Calls hung until dropped.
    pub timeouts: u64,
    /// Calls failed with a rate-limit failure.
    pub rate_limits: u64,
}

/// Builds a [`FaultPolicy`].
#[derive(Debug, Clone)]
pub struct FaultBuilder {
    config: FaultConfig,
    name: Arc<str>,
    events: Events,
}

impl FaultBuilder {
    /// Names the injector in events and metrics (default `"fault"`).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> FaultBuilder {
        self.name = name.into();
        self
    }

    /// Publishes [`Event::FaultInjected`] into `events`.
    pub fn events(mut self, events: Events) -> FaultBuilder {
        self.events = events;
        self
    }

    /// The injector.
    pub fn build(self) -> FaultPolicy {
        let knobs = Knobs::default();
        knobs.store(&self.config);
        let seed = self.config.seed;
        FaultPolicy {
            shared: Arc::new(Shared {
                name: self.name,
                events: self.events,
                seed,
                rng: seed.map_or_else(Rng::from_entropy, Rng::with_seed),
                knobs,
                injected: Default::default(),
            }),
        }
    }
}

impl FaultPolicy {
    /// A builder injecting what `config` says.
    pub fn builder(config: FaultConfig) -> FaultBuilder {
        FaultBuilder {
            config,
            name: Arc::from("fault"),
            events: Events::none(),
        }
    }

    /// An injector of `config`, unnamed and without events.
    pub fn new(config: FaultConfig) -> FaultPolicy {
        FaultPolicy::builder(config).build()
    }

    /// An injector that injects nothing until [`FaultPolicy::set_config`]
    /// turns it on.
    pub fn off() -> FaultPolicy {
        FaultPolicy::new(FaultConfig::default())
    }

    /// The injector's name.
    pub fn name(&self) -> &Arc<str> {
        &self.shared.name
    }

    /// Whether any rate is above zero.
    pub fn is_active(&self) -> bool {
        self.shared.knobs.is_active()
    }

    /// The configuration now in force.
    pub fn config(&self) -> FaultConfig {
        self.shared.knobs.load(self.shared.seed)
    }

    /// Changes rates, latency, error kind and retry-after while calls run; the
    /// seed is fixed at build time and `config.seed` is ignored. Fields are
    /// stored one by one: a call that races the change may see a mix.
    pub fn set_config(&self, config: &FaultConfig) {
        self.shared.knobs.store(config);
    }

    /// Counts of injected faults so far.
    pub fn stats(&self) -> FaultStats {
        let [latency, errors, timeouts, rate_limits] = self
            .shared
            .injected
            .each_ref()
            .map(|n| n.load(Ordering::Relaxed));
        FaultStats {
            latency,
            errors,
            timeouts,
            rate_limits,
        }
    }

    /// Decides this call's fault: waits out injected latency, then returns the
    /// injected failure, never returns (a hang, until the caller drops the
    /// future), or `Ok(())` to let the call run.
    pub async fn inject(&self) -> Result<(), InjectedFault> {
        if !self.shared.knobs.is_active() {
            return Ok(());
        }
        self.shared.inject().await
    }

    /// Injects (see [`FaultPolicy::inject`]), then runs `op` unless a fault
    /// stopped it. An injected failure is [`Error::Injected`]; the op's own
    /// errors become [`Error::from_boxed`] transient call failures.
    pub async fn call<T, E, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        self.inject().await?;
        op().await.map_err(Error::judged)
    }

    /// A tower layer injecting into every request of a service.
    pub fn layer(&self) -> FaultLayer {
        FaultLayer::new(self.clone())
    }
}

impl Shared {
    async fn inject(&self) -> Result<(), InjectedFault> {
        let config = self.knobs.load(self.seed);
        if let Some((rate, delay)) = config.latency {
            if self.rng.chance(rate) {
                self.record(InjectedKind::Latency);
                tokio::time::sleep(delay).await;
            }
        }
        let error = config.error_rate;
        let hang = error + config.timeout_rate;
        let rate_limit = hang + config.rate_limit_rate;
        if rate_limit <= 0.0 {
            return Ok(());
        }
        let draw = self.rng.next_f64();
        if draw < error {
            self.record(InjectedKind::Error);
            Err(InjectedFault {
                failure: Failure::new(config.error_kind),
            })
        } else if draw < hang {
            self.record(InjectedKind::Timeout);
            std::future::pending().await
        } else if draw < rate_limit {
            self.record(InjectedKind::RateLimit);
            Err(InjectedFault {
                failure: Failure::rate_limited(config.retry_after),
            })
        } else {
            Ok(())
        }
    }

    fn record(&self, fault: InjectedKind) {
        let index = KINDS.iter().position(|k| *k == fault).unwrap_or(0);
        if let Some(count) = self.injected.get(index) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        self.events.emit(Event::FaultInjected {
            name: self.name.clone(),
            fault,
        });
    }
}
