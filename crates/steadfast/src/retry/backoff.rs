//! Backoff: how long to wait before the next attempt.
//!
//! A [`Backoff`] grows its base delay by a [`BackoffKind`] and spreads it with a
//! [`Jitter`]. Every delay is capped at [`Backoff::max`], never negative, and
//! saturates instead of overflowing for huge attempt numbers.

use std::time::Duration;

use crate::rng::Rng;

/// How the base delay grows with the attempt number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BackoffKind {
    /// Always `initial`.
    Constant,
    /// `initial * attempt`.
    Linear,
    /// `initial * multiplier^(attempt - 1)`.
    Exponential {
        /// The growth factor per attempt; values below 1 (or NaN) are treated as 1.
        multiplier: f64,
    },
}

/// How the base delay is randomised so that many clients do not retry in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// The base delay as is.
    None,
    /// Uniform in `[0, base]`.
    Full,
    /// Uniform in `[base / 2, base]`.
    Equal,
    /// AWS's decorrelated jitter: uniform in `[initial, previous * 3]`, capped at
    /// `max`. It ignores the [`BackoffKind`]: growth comes from the previous delay.
    Decorrelated,
}

/// A backoff schedule.
///
/// ```
/// use std::time::Duration;
/// use steadfast::retry::{Backoff, Jitter};
/// use steadfast::rng::Rng;
///
/// let backoff = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(5));
/// let rng = Rng::with_seed(1);
/// assert_eq!(backoff.delay(3, Duration::ZERO, &rng), Duration::from_millis(400));
/// let jittered = backoff.with_jitter(Jitter::Full);
/// assert!(jittered.delay(3, Duration::ZERO, &rng) <= Duration::from_millis(400));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// How the base delay grows.
    pub kind: BackoffKind,
    /// The delay after the first attempt.
    pub initial: Duration,
    /// No delay is ever longer than this.
    pub max: Duration,
    /// How the base delay is randomised.
    pub jitter: Jitter,
}

impl Backoff {
    /// The same delay every time, without jitter.
    pub const fn constant(delay: Duration) -> Backoff {
        Backoff {
            kind: BackoffKind::Constant,
            initial: delay,
            max: delay,
            jitter: Jitter::None,
        }
    }

    /// `initial * attempt`, capped at `max`, without jitter.
    pub const fn linear(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            kind: BackoffKind::Linear,
            initial,
            max,
            jitter: Jitter::None,
        }
    }

    /// `initial * 2^(attempt - 1)`, capped at `max`, without jitter.
    pub const fn exponential(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            kind: BackoffKind::Exponential { multiplier: 2.0 },
            initial,
            max,
            jitter: Jitter::None,
        }
    }

    /// No wait at all.
    pub const fn none() -> Backoff {
        Backoff::constant(Duration::ZERO)
    }

    /// This schedule with another jitter.
    pub const fn with_jitter(mut self, jitter: Jitter) -> Backoff {
        self.jitter = jitter;
        self
    }

    /// The base delay (before jitter) after attempt `attempt` (counting from 1;
    /// 0 is treated as 1), capped at `max`.
    pub fn base(&self, attempt: u32) -> Duration {
        let attempt = attempt.max(1);
        let factor = match self.kind {
            BackoffKind::Constant => 1.0,
            BackoffKind::Linear => f64::from(attempt),
            BackoffKind::Exponential { multiplier } => {
                let multiplier = if multiplier >= 1.0 { multiplier } else { 1.0 };
                let exponent = i32::try_from(attempt - 1).unwrap_or(i32::MAX);
                multiplier.powi(exponent)
            }
        };
        scale(self.initial, factor).min(self.max)
    }

    /// The wait after attempt `attempt` failed. `previous` is the delay this
    /// schedule returned last time (zero before the first retry); only
    /// [`Jitter::Decorrelated`] uses it.
    pub fn delay(&self, attempt: u32, previous: Duration, rng: &Rng) -> Duration {
        let delay = match self.jitter {
            Jitter::None => self.base(attempt),
            Jitter::Full => between(Duration::ZERO, self.base(attempt), rng),
            Jitter::Equal => {
                let base = self.base(attempt);
                between(base / 2, base, rng)
            }
            Jitter::Decorrelated => {
                let previous = previous.max(self.initial);
                between(self.initial, previous.saturating_mul(3), rng)
            }
        };
        delay.min(self.max)
    }
}

impl Default for Backoff {
    /// Exponential from 100 ms to 10 s with full jitter.
    fn default() -> Backoff {
        Backoff::exponential(Duration::from_millis(100), Duration::from_secs(10))
            .with_jitter(Jitter::Full)
    }
}

/// `duration * factor`, saturating at `Duration::MAX` and never negative.
fn scale(duration: Duration, factor: f64) -> Duration {
    if factor.is_nan() || factor <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(duration.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// A uniform duration in `[low, high]` (`low` when `high <= low`).
fn between(low: Duration, high: Duration, rng: &Rng) -> Duration {
    if high <= low {
        return low;
    }
    let span = high - low;
    let offset = Duration::try_from_secs_f64(span.as_secs_f64() * rng.next_f64()).unwrap_or(span);
    low.saturating_add(offset.min(span))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn kinds_grow_as_named() {
        let exp = Backoff::exponential(100 * MS, 10_000 * MS);
        let lin = Backoff::linear(100 * MS, 250 * MS);
        let rng = Rng::with_seed(0);
        let exps: Vec<_> = (1..=9)
            .map(|a| exp.delay(a, Duration::ZERO, &rng))
            .collect();
        assert_eq!(
            exps,
            [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000].map(|m| m * MS)
        );
        let lins: Vec<_> = (1..=4)
            .map(|a| lin.delay(a, Duration::ZERO, &rng))
            .collect();
        assert_eq!(lins, [100 * MS, 200 * MS, 250 * MS, 250 * MS]);
        assert_eq!(Backoff::constant(7 * MS).base(u32::MAX), 7 * MS);
    }

    #[test]
    fn huge_attempts_saturate_at_max() {
        let exp = Backoff {
            kind: BackoffKind::Exponential { multiplier: 10.0 },
            initial: Duration::MAX,
            max: Duration::MAX,
            jitter: Jitter::None,
        };
        assert_eq!(exp.base(u32::MAX), Duration::MAX);
        let lin = Backoff::linear(Duration::MAX, Duration::from_secs(1));
        assert_eq!(lin.base(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn decorrelated_grows_from_the_previous_delay() {
        let backoff = Backoff::exponential(100 * MS, 60_000 * MS).with_jitter(Jitter::Decorrelated);
        let rng = Rng::with_seed(3);
        let mut previous = Duration::ZERO;
        for attempt in 1..50 {
            let delay = backoff.delay(attempt, previous, &rng);
            assert!(delay >= 100 * MS && delay <= (previous.max(100 * MS)) * 3);
            previous = delay;
        }
    }
}
