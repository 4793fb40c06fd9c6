//! The failure the fault-injection policy injected on purpose.

use crate::Failure;

/// The fault-injection policy failed the call on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("injected fault: {failure}")]
pub struct InjectedFault {
    /// The failure that was injected.
    pub failure: Failure,
}
