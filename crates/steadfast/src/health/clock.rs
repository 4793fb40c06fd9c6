//! Instants and durations kept in atomics: a stamp is nanoseconds since the
//! target's epoch plus one, so `0` means "never" and reads need no lock.

use std::time::Duration;

use tokio::time::Instant;

/// Converts between [`Instant`]s and `u64` stamps relative to one epoch.
#[derive(Debug)]
pub(super) struct Clock {
    epoch: Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub(super) fn new() -> Clock {
        Clock {
            epoch: Instant::now(),
        }
    }

    /// The stamp of the current time (never `0`).
    pub(super) fn now(&self) -> u64 {
        nanos(Instant::now().saturating_duration_since(self.epoch)).saturating_add(1)
    }

    /// The instant a stamp stands for; `None` for `0`.
    pub(super) fn instant(&self, stamp: u64) -> Option<Instant> {
        let since = Duration::from_nanos(stamp.checked_sub(1)?);
        self.epoch.checked_add(since)
    }
}

/// A duration as whole nanoseconds, saturating.
pub(super) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// An optional duration as a stamp: nanoseconds plus one, `0` for none.
pub(super) fn encode_duration(duration: Duration) -> u64 {
    nanos(duration).saturating_add(1)
}

/// The duration a stamp from [`encode_duration`] stands for.
pub(super) fn decode_duration(stamp: u64) -> Option<Duration> {
    stamp.checked_sub(1).map(Duration::from_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn stamps_round_trip() {
        let clock = Clock::new();
        assert_eq!(clock.instant(0), None);
        let start = Instant::now();
        tokio::time::advance(Duration::from_secs(3)).await;
        let stamp = clock.now();
        assert_eq!(clock.instant(stamp), Some(start + Duration::from_secs(3)));
        assert_eq!(decode_duration(0), None);
        assert_eq!(
            decode_duration(encode_duration(Duration::ZERO)),
            Some(Duration::ZERO)
        );
    }
}
