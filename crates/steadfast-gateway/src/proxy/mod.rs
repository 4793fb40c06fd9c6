//! Serving a request from a route: admission to targets, the attempt loop,
//! the request each target gets in its own format, and the attempts with the
//! translation of their answers.

pub mod admission;
pub mod attempt;
pub mod engine;
pub mod inbound;
pub mod relay;
pub mod translate;
pub mod usage;
