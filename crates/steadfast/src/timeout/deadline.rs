//! An overall deadline shared by every attempt of an operation.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::{Elapsed, TimeoutScope};

/// A point in time by which a whole operation (retries, hedges, fallbacks
/// included) must finish. `Copy`, so each attempt can carry it.
///
/// ```
/// use std::time::Duration;
/// use steadfast::timeout::Deadline;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let deadline = Deadline::after(Duration::from_secs(10));
/// // Give each attempt at most 3 s, but never more than what is left.
/// let per_attempt = deadline.cap(Duration::from_secs(3));
/// assert!(per_attempt <= Duration::from_secs(3));
/// let answer = deadline.run(async { 42 }).await;
/// assert_eq!(answer.ok(), Some(42));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// A deadline `limit` from now.
    pub fn after(limit: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + limit,
            limit,
        }
    }

    /// The instant at which time runs out.
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// The whole limit the deadline was made with.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// The time left; zero once passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// `limit`, or the time left if that is shorter: the timeout to give the
    /// next attempt.
    pub fn cap(&self, limit: Duration) -> Duration {
        limit.min(self.remaining())
    }

    /// The error of an operation that ran past this deadline.
    pub fn elapsed(&self) -> Elapsed {
        Elapsed {
            scope: TimeoutScope::Overall,
            after: self.limit,
        }
    }

    /// Runs `future` until it finishes or the deadline passes, whichever is
    /// first; on the deadline the future is dropped and an [`Elapsed`] of scope
    /// [`TimeoutScope::Overall`] returned.
    pub async fn run<F: Future>(&self, future: F) -> Result<F::Output, Elapsed> {
        tokio::time::timeout_at(self.at, future)
            .await
            .map_err(|_| self.elapsed())
    }
}
