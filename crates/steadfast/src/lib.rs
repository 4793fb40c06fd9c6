//! Steadfast: resilience policies for applications that call AI models.
//!
//! Every policy is usable on its own, composes with the others in a
//! pipeline, and is also a [`tower_layer::Layer`]. Each policy module names
//! its parts after the policy's noun, the same way: the handle, built once
//! and cheap to clone — the noun itself where it names a thing (`Breaker`,
//! `Bulkhead`, `Timeout`, `RateLimit`, `AdaptiveLimit`, `Pipeline`),
//! `<Noun>Policy` where it names an act (`RetryPolicy`, `HedgePolicy`,
//! `FaultPolicy`); its builder `<Noun>Builder`; its tower layer
//! `<Noun>Layer`, made by `<Noun>Layer::new(handle)` or `handle.layer()`; the
//! service that layer makes, `<Noun>Service`; that service's `ResponseFuture`;
//! and its rejection, a small typed error (`breaker::BreakerOpen`, ...).
//!
//! At the crate root, and only there, are the types every policy shares:
//! [`Error`] (what failed, and whether to retry), [`BoxError`], and the
//! verdict on a call, [`Outcome`], [`Failure`], [`FailureKind`] and
//! [`SkipReason`] (why a target was passed over without a call).
//!
//! | module | what it is for |
//! |---|---|
//! | [`classify`] | turn a result into success or a [`FailureKind`] |
//! | [`breaker`] | circuit breaker with count- and time-based windows and a permit API |
//! | [`registry`] | get-or-create breakers (and other per-name state) with defaults and overrides |
//! | [`health`] | per-target health from active probes and live outcomes (outlier ejection) |
//! | [`events`] | subscribe to every state change, retry, rejection and fault |
//! | [`retry`] | attempts, backoff with jitter, retry-after, per-kind predicate, stats, batches; retry passes over a fallback strategy |
//! | [`budget`] | cap retries and hedges to a ratio of first attempts over a sliding window |
//! | [`hedge`] | start another attempt after a fixed or percentile delay; first success wins |
//! | [`latency`] | lock-free rolling latency percentiles and EWMA |
//! | [`timeout`] | per-attempt timeout, overall deadline, first-item timeout for streams |
//! | [`bulkhead`] | bounded concurrency with a bounded, fair wait queue |
//! | [`adaptive`] | a concurrency limit learned from overloads (AIMD), with the bulkhead's queue |
//! | [`rate_limit`] | GCRA request and token quotas, with after-the-fact corrections |
//! | [`fault`] | seeded injection of latency, errors, hangs and rate limits |
//! | [`fallback`] | sequential, parallel, hedged, weighted, least-loaded and quorum calls across targets, within a deadline |
//! | [`pipeline`] | every policy for one target, composed in the right order; a permit form for outcomes known later |
//! | [`rng`] | the small seedable random source behind jitter, sampling and fault injection |

// Examples in the docs and the README teach no deprecated path.
#![doc(test(attr(deny(deprecated))))]

pub mod adaptive;
mod boundary;
pub mod breaker;
pub mod budget;
pub mod bulkhead;
pub mod classify;
pub mod events;
mod failure;
pub mod fallback;
pub mod fault;
pub mod health;
pub mod hedge;
pub mod latency;
pub mod pipeline;
mod policy_layer;
pub mod rate_limit;
pub mod registry;
pub mod retry;
pub mod rng;
mod states;
pub mod timeout;

pub use boundary::{BoxError, Error};
pub use failure::{Failure, FailureKind, Outcome, SkipReason};

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The crate README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
