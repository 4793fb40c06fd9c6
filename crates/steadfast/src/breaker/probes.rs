//! Half-open probe slots: one `AtomicU64` holding `tag << 32 | in_flight << 16
//! | successes`, where the tag is the low 32 bits of the breaker generation the
//! counts belong to. A word tagged with an older generation reads as empty,
//! so entering half-open needs no separate reset.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire};

const COUNT: u64 = 0xffff;

/// The probe slots of the current half-open period.
#[derive(Debug, Default)]
pub(crate) struct Probes {
    word: AtomicU64,
}

impl Probes {
    /// Takes a slot for the period of generation `generation`, if fewer than
    /// `limit` probes of it are in flight. Refuses when a newer period has
    /// started (the caller's view of the state is out of date).
    pub(crate) fn claim(&self, generation: u64, limit: u32) -> bool {
        let tag = generation & 0xffff_ffff;
        let mut probes = self.word.load(Acquire);
        loop {
            let (in_flight, successes) = if probes >> 32 == tag {
                ((probes >> 16) & COUNT, probes & COUNT)
            } else if ((probes >> 32) as u32).wrapping_sub(tag as u32) as i32 > 0 {
                return false;
            } else {
                (0, 0)
            };
            if in_flight >= u64::from(limit) {
                return false;
            }
            let claimed = tag << 32 | (in_flight + 1) << 16 | successes;
            match self
                .word
                .compare_exchange_weak(probes, claimed, AcqRel, Acquire)
            {
                Ok(_) => return true,
                Err(actual) => probes = actual,
            }
        }
    }

    /// Gives back a slot of the period of `generation`, counting a success if
    /// `succeeded`. Returns that period's successes so far (0 if the period is
    /// over). Successes stay below 2^16: the breaker closes at `limit` of them.
    pub(crate) fn release(&self, generation: u64, succeeded: bool) -> u64 {
        let tag = generation & 0xffff_ffff;
        let mut probes = self.word.load(Acquire);
        loop {
            if probes >> 32 != tag || (probes >> 16) & COUNT == 0 {
                return 0;
            }
            let released = probes - (1 << 16) + u64::from(succeeded);
            match self
                .word
                .compare_exchange_weak(probes, released, AcqRel, Acquire)
            {
                Ok(_) => return released & COUNT,
                Err(actual) => probes = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_per_period() {
        let probes = Probes::default();
        assert!(probes.claim(7, 2));
        assert!(probes.claim(7, 2));
        assert!(!probes.claim(7, 2));
        assert_eq!(probes.release(7, true), 1);
        assert!(probes.claim(7, 2));
        // A new period starts empty; the old one can no longer claim or release.
        assert!(probes.claim(9, 1));
        assert!(!probes.claim(7, 2));
        assert_eq!(probes.release(7, true), 0);
        assert_eq!(probes.release(9, false), 0);
        assert!(probes.claim(9, 1));
    }
}
