//! A small, lock-free, seedable random source for jitter, sampling and fault
//! injection. The same seed gives the same sequence (SplitMix64), which makes
//! chaos runs and tests reproducible.

use std::sync::atomic::{AtomicU64, Ordering};

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A thread-safe pseudo-random generator; not for cryptography.
#[derive(Debug)]
pub struct Rng {
    state: AtomicU64,
}

impl Rng {
    /// A generator that yields the same sequence for the same `seed`.
    pub const fn with_seed(seed: u64) -> Rng {
        Rng {
            state: AtomicU64::new(seed),
        }
    }

    /// A generator seeded from the process's hash randomness and the time.
    pub fn from_entropy() -> Rng {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        Rng::with_seed(hasher.finish())
    }

    /// The next 64 random bits.
    pub fn next_u64(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(GOLDEN_GAMMA, Ordering::Relaxed)
            .wrapping_add(GOLDEN_GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&self, p: f64) -> bool {
        p > 0.0 && self.next_f64() < p
    }

    /// A uniform integer in `[0, n)`; `0` when `n` is `0`.
    pub fn below(&self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Power of two choices: of two distinct items drawn uniformly, the one
    /// `prefer(b, a)` says beats the other (else the first drawn); the only
    /// item when there is one, `None` when there is none.
    pub(crate) fn better_of_two<T: Copy>(
        &self,
        items: &[T],
        prefer: impl Fn(T, T) -> bool,
    ) -> Option<T> {
        let count = items.len() as u64;
        if count < 2 {
            return items.first().copied();
        }
        let a = self.below(count) as usize;
        let mut b = self.below(count - 1) as usize;
        if b >= a {
            b += 1;
        }
        let (a, b) = (items[a], items[b]);
        Some(if prefer(b, a) { b } else { a })
    }

    /// An index of `weights` drawn with chances proportional to its weight
    /// (one of 0 or less, or not finite, is never drawn); `None` when none
    /// can be.
    pub fn weighted(&self, weights: &[f64]) -> Option<usize> {
        let drawable = |weight: f64| weight > 0.0 && weight.is_finite();
        let total: f64 = weights.iter().copied().filter(|&w| drawable(w)).sum();
        if total <= 0.0 {
            return None;
        }
        let mut remaining = self.next_f64() * total;
        let mut last_positive = None;
        for (index, &weight) in weights.iter().enumerate() {
            if !drawable(weight) {
                continue;
            }
            if remaining < weight {
                return Some(index);
            }
            remaining -= weight;
            last_positive = Some(index);
        }
        // Rounding left a sliver past the end: it belongs to the last.
        last_positive
    }
}

impl Default for Rng {
    fn default() -> Rng {
        Rng::from_entropy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_draws_follow_the_weights_and_skip_the_weightless() {
        let rng = Rng::with_seed(3);
        let weights = [1.0, 0.0, 3.0, -1.0];
        let mut drawn = [0u32; 4];
        for _ in 0..4000 {
            drawn[rng.weighted(&weights).unwrap()] += 1;
        }
        assert_eq!((drawn[1], drawn[3]), (0, 0));
        assert!((2700..3300).contains(&drawn[2]), "{drawn:?}");
        assert_eq!(rng.weighted(&[0.0, -2.0]), None);
        assert_eq!(rng.weighted(&[]), None);
    }

    #[test]
    fn same_seed_same_sequence() {
        let a = Rng::with_seed(7);
        let b = Rng::with_seed(7);
        let xs: Vec<u64> = (0..16).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..16).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
    }

    #[test]
    fn floats_and_ranges_stay_in_bounds() {
        let rng = Rng::with_seed(1);
        let mut hits = 0;
        for _ in 0..10_000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
            assert!(rng.below(10) < 10);
            hits += usize::from(rng.chance(0.25));
        }
        assert!((2_000..3_000).contains(&hits), "{hits}");
        assert!(!rng.chance(0.0));
        assert_eq!(rng.below(0), 0);
    }
}
