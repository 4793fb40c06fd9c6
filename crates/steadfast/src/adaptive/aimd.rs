//! The rule that learns a concurrency limit: additive increase,
//! multiplicative decrease (AIMD), with a slow start — TCP Reno's congestion
//! window, as Netflix's `AIMDLimit` applies it to concurrent requests.
//!
//! - **Slow start**: until the first overload, each success raises the limit
//!   by 1 (the limit doubles in a round of calls).
//! - **Additive increase**: afterwards, each success raises it by `1/limit`
//!   (about 1 per round of calls).
//! - A success raises the limit only when the limit was in use: at least half
//!   of it in flight when the call started. A lightly used limit learns nothing.
//! - **Multiplicative decrease**: an overload (a 429, 503 or 529 answer, a
//!   timeout, a call slower than the configured `slow_call`) multiplies the
//!   limit by `backoff` (and lowers it by at least 1). Once per round: an
//!   overload of a call sent before the last decrease was already answered by
//!   it, and does not lower the limit again.
//!
//! The limit stays within `[min, max]`.

/// The rule's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Aimd {
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) backoff: f64,
}

/// The limit learned so far.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Learned {
    limit: f64,
    slow_start: bool,
    /// Decreases so far: a call remembers the epoch it was sent in.
    epoch: u64,
}

impl Learned {
    /// Starts at `initial`, within the rule's bounds, in slow start.
    pub(super) fn new(rule: &Aimd, initial: usize) -> Learned {
        Learned {
            limit: (initial as f64).clamp(rule.min, rule.max),
            slow_start: true,
            epoch: 0,
        }
    }

    /// The limit as a count of calls.
    pub(super) fn limit(&self) -> usize {
        self.limit.floor() as usize
    }

    /// The epoch a call sent now belongs to.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Learns from a call served without overload; `in_flight` counts the
    /// calls in flight when it was sent (itself included).
    pub(super) fn success(&mut self, rule: &Aimd, in_flight: usize) {
        if (in_flight as f64) * 2.0 < self.limit {
            return;
        }
        let step = if self.slow_start {
            1.0
        } else {
            1.0 / self.limit
        };
        self.limit = (self.limit + step).min(rule.max);
    }

    /// Learns from an overload of a call sent in `epoch`.
    pub(super) fn overload(&mut self, rule: &Aimd, epoch: u64) {
        self.slow_start = false;
        if epoch != self.epoch {
            return;
        }
        let lowered = (self.limit * rule.backoff).min(self.limit - 1.0);
        self.limit = lowered.max(rule.min);
        self.epoch += 1;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const RULE: Aimd = Aimd {
        min: 1.0,
        max: 100.0,
        backoff: 0.9,
    };

    #[test]
    fn slow_start_doubles_a_round_then_one_per_round() {
        let mut learned = Learned::new(&RULE, 4);
        for _ in 0..4 {
            learned.success(&RULE, 4);
        }
        assert_eq!(learned.limit(), 8);
        learned.overload(&RULE, 0);
        assert_eq!(learned.limit(), 7, "8 x 0.9, at least 1 less");
        for _ in 0..7 {
            learned.success(&RULE, 7);
        }
        assert_eq!(learned.limit(), 7, "seven successes add about one");
        learned.success(&RULE, 7);
        assert_eq!(learned.limit(), 8);
    }

    #[test]
    fn an_unused_limit_learns_nothing() {
        let mut learned = Learned::new(&RULE, 10);
        for _ in 0..100 {
            learned.success(&RULE, 4);
        }
        assert_eq!(learned.limit(), 10);
    }

    #[test]
    fn overloads_of_one_round_lower_the_limit_once() {
        let mut learned = Learned::new(&RULE, 40);
        let sent_in = learned.epoch();
        for _ in 0..30 {
            learned.overload(&RULE, sent_in);
        }
        assert_eq!(learned.limit(), 36);
        learned.overload(&RULE, learned.epoch());
        assert_eq!(learned.limit(), 32);
    }

    /// A provider that takes `capacity` calls at once and refuses the rest,
    /// met by rounds of as many calls as the limit allows.
    fn rounds(learned: &mut Learned, capacity: usize, count: usize) -> Vec<usize> {
        let mut limits = Vec::new();
        for _ in 0..count {
            let limit = learned.limit();
            let epoch = learned.epoch();
            for call in 1..=limit {
                if call <= capacity {
                    learned.success(&RULE, limit);
                } else {
                    learned.overload(&RULE, epoch);
                }
            }
            limits.push(learned.limit());
        }
        limits
    }

    #[test]
    fn converges_near_the_capacity_from_below_and_from_above() {
        for (initial, capacity) in [(1, 20), (2, 8), (90, 20), (60, 8), (20, 20)] {
            let mut learned = Learned::new(&RULE, initial);
            let limits = rounds(&mut learned, capacity, 200);
            let late = &limits[150..];
            let low = *late.iter().min().unwrap();
            let high = *late.iter().max().unwrap();
            assert!(
                low as f64 >= capacity as f64 * 0.75 && high <= capacity + 2,
                "from {initial} to {capacity}: {late:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn the_limit_stays_within_its_bounds(
            initial in 0usize..200,
            signals in proptest::collection::vec((any::<bool>(), 0usize..150, any::<bool>()), 0..400),
        ) {
            let mut learned = Learned::new(&RULE, initial);
            for (served, in_flight, this_round) in signals {
                let before = learned.limit;
                if served {
                    learned.success(&RULE, in_flight);
                    prop_assert!(learned.limit >= before);
                } else {
                    let epoch = if this_round { learned.epoch() } else { learned.epoch().wrapping_sub(1) };
                    learned.overload(&RULE, epoch);
                    prop_assert!(learned.limit <= before);
                }
                prop_assert!(learned.limit >= RULE.min && learned.limit <= RULE.max);
            }
        }
    }
}
