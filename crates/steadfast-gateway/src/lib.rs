//! The `steadfast` command line over the gateway's crates: `serve`, `check`,
//! `mock`, `schema`, `chaos`, `demo` and `report`, with the process's logging
//! and trace export. The binary (`src/main.rs`) is a thin shell over [`cli`].
//!
//! | module | what |
//! |---|---|
//! | [`cli`] | the subcommands and their options |
//! | [`launch`] | the in-process gateway of chaos runs and the demo |
//! | [`report`] | `steadfast report`: a gateway's report fetched and printed |
//! | [`logging`] | the `tracing` subscriber: text or JSON lines, trace export |
//! | `otlp` | OTLP/HTTP export of the request traces (feature `otlp`) |

pub mod cli;
pub mod launch;
pub mod logging;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod report;
