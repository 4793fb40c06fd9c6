//! Benchmarks of steadfast's hot paths against peer crates; see `benches/`
//! and `BENCHMARKS.md` at the repository root. This crate has no library code.
