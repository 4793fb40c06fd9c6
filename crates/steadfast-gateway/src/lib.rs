//! The Steadfast gateway: an OpenAI-compatible HTTP server in front of many
//! model providers that keeps answering when models fail. The `steadfast`
//! binary is a thin command line over this crate.

// Items are `pub` to say what a module offers its siblings; the crate is
// the binary's internals plus what the tests drive, so reachability is moot.
#![allow(unreachable_pub)]

pub mod alerts;
pub mod analytics;
pub mod audit;
pub mod chaos;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod headers;
pub mod mock;
pub mod net;
pub mod proxy;
pub mod runtime;
pub mod server;
pub mod shared;
pub mod table;
pub mod telemetry;
pub mod upstream;
pub mod wire;
