//! The gateway's end-to-end tests, in one test binary: real gateways over
//! real sockets in front of simulated providers (and, where a test says so,
//! a real Redis, SMTP server, browser, OpenAI and Anthropic SDKs, or the
//! `steadfast` binary itself). One binary links the crates once instead of
//! once per file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod receivers;
mod support;

mod accounting;
mod admin;
mod alerts;
mod anthropic;
mod architecture;
mod azure;
mod bad_input;
mod bedrock;
mod chaos;
mod cli;
mod clients;
mod completions;
mod conformance;
mod correctness;
mod dashboard;
mod degrade;
mod docs;
mod failover;
mod gemini;
mod grafana;
mod hostile;
mod kinds;
mod layers;
mod logs;
mod messages;
mod metrics;
#[cfg(feature = "otlp")]
mod otlp;
mod proxy;
mod redis;
mod report;
mod responses;
mod sdk;
mod secrets;
mod self_hosted;
mod strategies;
mod streaming;
mod translation;
mod translation_providers;
mod vertex;
