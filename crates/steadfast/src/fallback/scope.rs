//! The bounds of one run: when it ends, and which targets it may consider.

use tokio::time::Instant;

/// The bounds of one run of a strategy: a deadline, and the targets it may
/// consider. A target out of scope is passed over silently (no attempt, no
/// event); at the deadline, calls still running are recorded as timeouts
/// ([`StopReason::TimedOut`](super::StopReason::TimedOut)) and those that
/// ended keep their own outcome.
///
/// ```
/// use std::time::Duration;
/// use steadfast::fallback::Scope;
/// use tokio::time::Instant;
///
/// let tried = [true, false, true];
/// let scope = Scope::all()
///     .until(Instant::now() + Duration::from_secs(30))
///     .only(&tried);
/// assert!(scope.includes(0) && !scope.includes(1));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    deadline: Option<Instant>,
    only: Option<&'a [bool]>,
}

impl<'a> Scope<'a> {
    /// Every target, no deadline.
    pub fn all() -> Scope<'a> {
        Scope::default()
    }

    /// The run ends at `deadline`.
    pub fn until(self, deadline: Instant) -> Scope<'a> {
        Scope {
            deadline: Some(deadline),
            ..self
        }
    }

    /// Only the targets whose position is `true` in `included` (a target
    /// past its end is out of scope).
    pub fn only(self, included: &'a [bool]) -> Scope<'a> {
        Scope {
            only: Some(included),
            ..self
        }
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the target at `index` is in scope.
    pub fn includes(&self, index: usize) -> bool {
        self.only
            .is_none_or(|included| included.get(index).copied().unwrap_or(false))
    }
}
