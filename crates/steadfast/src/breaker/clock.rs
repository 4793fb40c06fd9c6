//! The breaker's clock: nanoseconds since the breaker was built, read through
//! tokio's clock so tests can pause and advance time.

use std::time::Duration;

use tokio::time::Instant;

/// Nanoseconds since a fixed base instant, stored in plain `u64`s by the
/// breaker (open-until, window epochs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    base: Instant,
}

impl Clock {
    /// A clock whose zero is now.
    pub(crate) fn start() -> Clock {
        Clock {
            base: Instant::now(),
        }
    }

    /// Nanoseconds elapsed since the base.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        nanos(Instant::now().saturating_duration_since(self.base))
    }
}

/// A duration in whole nanoseconds, saturating at `u64::MAX` (about 584 years).
#[inline]
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
