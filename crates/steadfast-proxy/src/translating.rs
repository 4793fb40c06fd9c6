//! The gateway's budget of memory for translating requests at once. Putting
//! a request into another format builds it as a tree of values and as the
//! canonical model, several times its size in memory for a moment (tens of
//! times for a request of many tiny content blocks): each translation takes
//! its estimated cost (`Fields::translation_cost`) from the budget while it
//! runs, so all serving threads together never hold more. A translation the
//! budget cannot take now skips its target (`Skip::TranslationBudget`, tried
//! again in a later pass), so a target that takes the request as sent can
//! still answer; one that would cost more than the whole budget is refused
//! as untranslatable.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in KiB (permits are `u32`).
const UNIT: u64 = 1024;

/// Memory that translations may take at once.
#[derive(Debug, Clone)]
pub struct TranslationBudget {
    units: Arc<Semaphore>,
    total: u32,
}

impl TranslationBudget {
    /// A budget of `bytes` (at least one KiB).
    pub fn new(bytes: u64) -> TranslationBudget {
        let total = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, u32::try_from(Semaphore::MAX_PERMITS).unwrap_or(u32::MAX));
        TranslationBudget {
            units: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// The whole budget, in bytes.
    pub(crate) fn total(&self) -> u64 {
        u64::from(self.total) * UNIT
    }

    /// Leave to translate at a cost of `bytes` now, if the budget has room
    /// for them (all of it for more than the budget); held until dropped.
    pub(crate) fn take(&self, bytes: u64) -> Option<OwnedSemaphorePermit> {
        let wanted = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total);
        Arc::clone(&self.units).try_acquire_many_owned(wanted).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translations_share_the_budget_and_a_large_one_goes_alone() {
        let budget = TranslationBudget::new(10 * 1024);
        let first = budget.take(6 * 1024).expect("room");
        assert!(budget.take(6 * 1024).is_none(), "past the budget");
        let small = budget.take(100).expect("room for a small one");
        drop((first, small));
        let huge = budget.take(100 * 1024 * 1024).expect("alone, it may");
        assert!(budget.take(1).is_none(), "it took everything");
        drop(huge);
        assert!(budget.take(1).is_some());
    }
}
