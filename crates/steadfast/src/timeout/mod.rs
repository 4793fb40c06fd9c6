//! Timeouts: per attempt ([`Timeout`]), over a whole operation ([`Deadline`]),
//! and for the first item of a stream ([`FirstItemTimeout`]).
//!
//! A timed-out call fails with [`Error::Timeout`] carrying an [`Elapsed`] whose
//! [`TimeoutScope`] says what ran out of time, and the [`Timeout`] policy emits
//! [`Event::TimedOut`]. The future of a timed-out call is dropped, which cancels it.
//!
//! [`Timeout`] is the policy handle (with [`Timeout::call`]); [`TimeoutLayer`]
//! ([`Timeout::layer`]) wraps a tower service in a [`TimeoutService`].
//!
//! ```
//! use std::time::Duration;
//! use steadfast::timeout::Timeout;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let timeout = Timeout::builder(Duration::from_secs(30)).name("gpt").build();
//! let answer = timeout.call(|| async { Ok::<_, std::io::Error>("hi") }).await;
//! assert_eq!(answer.ok(), Some("hi"));
//! # }
//! ```

mod deadline;
mod error;
mod future;
mod layer;
mod stream;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use self::deadline::Deadline;
pub use self::error::{Elapsed, TimeoutScope};
pub use self::future::ResponseFuture;
pub use self::layer::{TimeoutLayer, TimeoutService};
pub use self::stream::FirstItemTimeout;
use crate::classify::AsFailure;
use crate::events::{Event, Events};
use crate::{BoxError, Error};

/// A per-attempt timeout policy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Timeout {
    shared: Arc<Shared>,
}

/// What every clone of a timeout shares.
#[derive(Debug)]
struct Shared {
    name: Arc<str>,
    after: Duration,
    events: Events,
}

impl Shared {
    /// The error of a timed-out attempt; emits [`Event::TimedOut`].
    fn elapsed(&self) -> Error {
        self.events.emit(Event::TimedOut {
            name: self.name.clone(),
            after: self.after,
        });
        Error::Timeout(Elapsed {
            scope: TimeoutScope::Attempt,
            after: self.after,
        })
    }
}

/// Builds a [`Timeout`].
#[derive(Debug, Clone)]
pub struct TimeoutBuilder {
    name: Arc<str>,
    after: Duration,
    events: Events,
}

impl TimeoutBuilder {
    /// Names the policy in events and metrics (default `"timeout"`).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> TimeoutBuilder {
        self.name = name.into();
        self
    }

    /// Publishes [`Event::TimedOut`] into `events`.
    pub fn events(mut self, events: Events) -> TimeoutBuilder {
        self.events = events;
        self
    }

    /// The policy.
    pub fn build(self) -> Timeout {
        Timeout {
            shared: Arc::new(Shared {
                name: self.name,
                after: self.after,
                events: self.events,
            }),
        }
    }
}

impl Timeout {
    /// A builder for a timeout of `after` per attempt.
    pub fn builder(after: Duration) -> TimeoutBuilder {
        TimeoutBuilder {
            name: Arc::from("timeout"),
            after,
            events: Events::none(),
        }
    }

    /// A timeout of `after` per attempt, unnamed and without events.
    pub fn new(after: Duration) -> Timeout {
        Timeout::builder(after).build()
    }

    /// The limit per attempt.
    pub fn after(&self) -> Duration {
        self.shared.after
    }

    /// The policy's name.
    pub fn name(&self) -> &Arc<str> {
        &self.shared.name
    }

    /// Runs `op`, failing with [`Error::Timeout`] (scope
    /// [`TimeoutScope::Attempt`]) if it does not finish in time; the op's
    /// future is then dropped. The op's own errors become
    /// [`Error::from_boxed`] transient call failures.
    pub async fn call<T, E, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: AsFailure + Into<BoxError>,
    {
        match tokio::time::timeout(self.shared.after, op()).await {
            Ok(result) => result.map_err(Error::judged),
            Err(_) => Err(self.shared.elapsed()),
        }
    }

    /// A tower layer applying this timeout to a service.
    pub fn layer(&self) -> TimeoutLayer {
        TimeoutLayer::new(self.clone())
    }
}
