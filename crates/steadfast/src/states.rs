//! The states policies report — a circuit breaker's state, a target's
//! health status, the kind of an injected fault — defined below both the
//! policies that have them and the [events](crate::events) that carry them.
//! Each is public under its policy's module only: [`crate::breaker::State`],
//! [`crate::health::Status`], [`crate::fault::InjectedKind`].

use std::fmt;

/// The state of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls flow; outcomes are judged.
    Closed,
    /// Calls are refused until the open duration passes.
    Open,
    /// A bounded number of probe calls decide between closing and reopening.
    HalfOpen,
    /// Calls are refused until a manual reset.
    ForcedOpen,
    /// Calls flow and nothing is judged.
    Disabled,
}

impl State {
    /// The snake_case name used in metrics labels and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A target's health as the health checker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Not probed or observed yet.
    Unknown,
    /// Answering.
    Healthy,
    /// Failing probes or ejected for failing live traffic.
    Unhealthy,
}

impl Status {
    /// The snake_case name used in metrics labels and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Healthy => "healthy",
            Status::Unhealthy => "unhealthy",
        }
    }

    /// The status as kept in an atomic.
    pub(crate) const fn to_u8(self) -> u8 {
        match self {
            Status::Unknown => 0,
            Status::Healthy => 1,
            Status::Unhealthy => 2,
        }
    }

    /// The status kept in an atomic by [`Status::to_u8`].
    pub(crate) const fn from_u8(value: u8) -> Status {
        match value {
            1 => Status::Healthy,
            2 => Status::Unhealthy,
            _ => Status::Unknown,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the fault-injection policy injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InjectedKind {
    /// Extra latency before the call.
    Latency,
    /// An error instead of the call.
    Error,
    /// A hang until the caller's timeout.
    Timeout,
    /// A rate-limit failure with a retry-after hint.
    RateLimit,
}

impl InjectedKind {
    /// The snake_case name used in metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            InjectedKind::Latency => "latency",
            InjectedKind::Error => "error",
            InjectedKind::Timeout => "timeout",
            InjectedKind::RateLimit => "rate_limit",
        }
    }
}
