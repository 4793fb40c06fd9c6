//! The failover conformance harness (`scripts/failover`: a fault wall
//! speaking OpenAI's format with each of failoverbench's 16 scenarios, the
//! official SDKs as clients, the catalogue's checks as the judge) in short
//! form: the fast timing profile, against this build's binary. The full
//! timing, both profiles and the scorecard are `scripts/bench-failover`
//! (BENCHMARKS.md). Timings are the harness's to judge, by the catalogue's
//! bounds; this test asks only for the verdicts.

use crate::support::{TIMED_RUNS, run_python};

/// Runs the harness with `args` and asserts that it met its requirements.
async fn harness(args: &[&str]) {
    let _alone = TIMED_RUNS.lock().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tempfile::tempdir().unwrap();
    let binary = [
        "--binary",
        env!("CARGO_BIN_EXE_steadfast"),
        "--timing",
        "fast",
    ];
    let out_dir = ["--out", out.path().to_str().unwrap()];
    let output = run_python(
        &root.join("scripts/failover/run.py"),
        binary.iter().chain(&out_dir).chain(args),
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let scorecard = std::fs::read_to_string(out.path().join("SCORECARD.md")).unwrap_or_default();
    assert!(
        output.status.success(),
        "{stdout}\n{stderr}\n{scorecard}\n{}",
        std::fs::read_to_string(out.path().join("gateway.log")).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failover_scenario_passes_with_the_recommended_settings() {
    harness(&["--profile", "recommended", "--require-pass", "all"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_scenarios_pass_through_the_anthropic_sdk_too() {
    harness(&[
        "--profile",
        "recommended",
        "--ingress",
        "anthropic",
        "--only",
        "S08,S09,S10,S11,S14",
        "--require-pass",
        "all",
    ])
    .await;
}
