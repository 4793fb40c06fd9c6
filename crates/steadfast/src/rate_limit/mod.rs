//! Rate limits: requests and units (model tokens) per interval per target.
//!
//! [`RateLimiter`] enforces one [`Quota`] with the generic cell rate algorithm
//! (GCRA), lock-free on a single `AtomicU64` holding the theoretical arrival
//! time. [`RateLimit`] combines an optional request quota and an optional unit
//! quota into one policy and emits [`Event::Rejected`] when it refuses;
//! [`RateLimitLayer`] ([`RateLimit::layer`]) wraps a tower service in a
//! [`RateLimitService`] sharing its limiters.
//!
//! # Why not `governor`
//!
//! `governor` is a fine GCRA limiter, but the gateway needs three things it
//! does not give:
//!
//! - **Charging after the fact.** The tokens a model answer uses are known only
//!   when it ends. We admit on an estimate and correct with
//!   [`RateLimit::correct`] ([`RateLimiter::charge`] may push the limiter into
//!   debt, [`RateLimiter::refund`] gives units back); `governor` can only
//!   check-and-take.
//! - **tokio's clock.** All timing here is `tokio::time::Instant`, so tests
//!   pause and advance time and assert exact admission counts and
//!   retry-after values.
//! - **The same algorithm in Redis.** Shared limits across gateway replicas
//!   will run this exact arithmetic (one integer TAT per key, compare-and-set)
//!   in a Redis script; owning the algorithm keeps both sides identical.
//!
//! ```
//! use steadfast::rate_limit::{Quota, RateLimit};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let limit = RateLimit::builder()
//!     .requests(Quota::per_minute(500))
//!     .units(Quota::per_minute(200_000))
//!     .name("gpt")
//!     .build();
//! // Admit on an estimate of 1 000 tokens, then correct with the real usage.
//! limit.check(1_000).expect("within quota");
//! limit.correct(1_000, 1_350);
//! # }
//! ```

mod error;
mod layer;
mod limiter;
mod quota;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

pub use self::error::RateLimitExceeded;
pub use self::layer::{RateLimitLayer, RateLimitService, ResponseFuture};
pub use self::limiter::RateLimiter;
pub use self::quota::Quota;
use crate::classify::AsFailure;
use crate::events::{Event, Events, Rejection};
use crate::{BoxError, Error};

/// A rate-limit policy of an optional request quota and an optional unit
/// quota. Cheap to clone: clones share the limiters.
#[derive(Debug, Clone)]
pub struct RateLimit {
    shared: Arc<Shared>,
}

/// What every clone of a rate limit shares.
#[derive(Debug)]
struct Shared {
    name: Arc<str>,
    events: Events,
    requests: Option<RateLimiter>,
    units: Option<RateLimiter>,
}

/// Builds a [`RateLimit`].
#[derive(Debug, Clone)]
pub struct RateLimitBuilder {
    name: Arc<str>,
    events: Events,
    requests: Option<Quota>,
    units: Option<Quota>,
}

impl RateLimitBuilder {
    /// Limits requests: each check takes one.
    pub fn requests(mut self, quota: Quota) -> RateLimitBuilder {
        self.requests = Some(quota);
        self
    }

    /// Limits units (model tokens): each check takes the units it names.
    pub fn units(mut self, quota: Quota) -> RateLimitBuilder {
        self.units = Some(quota);
        self
    }

    /// Names the policy in errors, events and metrics (default `"rate_limit"`).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> RateLimitBuilder {
        self.name = name.into();
        self
    }

    /// Publishes [`Event::Rejected`] into `events`.
    pub fn events(mut self, events: Events) -> RateLimitBuilder {
        self.events = events;
        self
    }

    /// The policy; with neither quota it admits everything.
    pub fn build(self) -> RateLimit {
        let limiter = |quota| RateLimiter::new(self.name.clone(), quota);
        RateLimit {
            shared: Arc::new(Shared {
                requests: self.requests.map(limiter),
                units: self.units.map(limiter),
                name: self.name,
                events: self.events,
            }),
        }
    }
}

impl RateLimit {
    /// A builder with no quota yet.
    pub fn builder() -> RateLimitBuilder {
        RateLimitBuilder {
            name: Arc::from("rate_limit"),
            events: Events::none(),
            requests: None,
            units: None,
        }
    }

    /// Runs `op` if one request of one unit is allowed now (see
    /// [`RateLimit::check`]); a refusal is [`Error::RateLimited`], the op's own
    /// errors become [`Error::from_boxed`] transient call failures.
    pub async fn call<T, E, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        self.check(1)?;
        op().await.map_err(Error::judged)
    }

    /// A tower layer sharing this policy's limiters (one request and one unit
    /// per call).
    pub fn layer(&self) -> RateLimitLayer {
        RateLimitLayer::new(self.clone())
    }

    /// The policy's name.
    pub fn name(&self) -> &Arc<str> {
        &self.shared.name
    }

    /// The request limiter, if requests are limited.
    pub fn requests(&self) -> Option<&RateLimiter> {
        self.shared.requests.as_ref()
    }

    /// The unit limiter, if units are limited.
    pub fn units(&self) -> Option<&RateLimiter> {
        self.shared.units.as_ref()
    }

    /// Takes one request and `units` units if both quotas allow it now, or
    /// nothing: when the unit quota refuses, the request taken is given back.
    /// A refusal emits [`Event::Rejected`] and says when to retry.
    pub fn check(&self, units: u64) -> Result<(), RateLimitExceeded> {
        self.shared.admit(units).map_err(|e| self.shared.reject(e))
    }

    /// Like [`RateLimit::check`], but waits (tokio sleep) until allowed, as
    /// long as the wait stays within `max_wait`; refuses at once if the
    /// retry-after would exceed what is left of it. Waiters are not queued
    /// fairly: whoever checks first after the wait wins.
    pub async fn until_ready(
        &self,
        units: u64,
        max_wait: Duration,
    ) -> Result<(), RateLimitExceeded> {
        let deadline = Instant::now() + max_wait;
        loop {
            match self.shared.admit(units) {
                Ok(()) => return Ok(()),
                Err(exceeded) => {
                    let wake = Instant::now() + exceeded.retry_after;
                    if wake > deadline {
                        return Err(self.shared.reject(exceeded));
                    }
                    tokio::time::sleep_until(wake).await;
                }
            }
        }
    }

    /// Corrects the unit quota once the real usage of a call is known: takes
    /// the excess over `estimated` (possibly into debt) or gives back the rest.
    pub fn correct(&self, estimated: u64, actual: u64) {
        if let Some(units) = &self.shared.units {
            if actual > estimated {
                units.charge(actual - estimated);
            } else {
                units.refund(estimated - actual);
            }
        }
    }
}

impl Shared {
    fn admit(&self, units: u64) -> Result<(), RateLimitExceeded> {
        if let Some(requests) = &self.requests {
            requests.try_acquire(1)?;
        }
        if let Some(limiter) = &self.units {
            if let Err(exceeded) = limiter.try_acquire(units) {
                if let Some(requests) = &self.requests {
                    requests.refund(1);
                }
                return Err(exceeded);
            }
        }
        Ok(())
    }

    fn reject(&self, exceeded: RateLimitExceeded) -> RateLimitExceeded {
        self.events.emit(Event::Rejected {
            name: self.name.clone(),
            by: Rejection::RateLimited,
        });
        exceeded
    }
}
