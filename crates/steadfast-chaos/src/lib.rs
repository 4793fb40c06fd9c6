//! `steadfast chaos` and `steadfast demo`: plays a scenario (traffic plus a
//! timeline of faults on simulated providers) against a gateway, in-process
//! or remote, and judges the resilience report against the scenario's
//! targets. Operator tooling, outside the product's request path: it drives
//! a gateway over HTTP like any client, and starts an in-process one through
//! the [`Launcher`] its caller gives.
//!
//! Parts: [`scenario`] (the file), [`timeline`] (faults as a function of
//! time), [`stage`] (in-process or remote set-up), [`driver`] (applies the
//! timeline), [`traffic`] (the clients), [`record`] and [`observe`] (what
//! clients and the gateway saw), [`report`], [`recovery`] and [`judge`]
//! (figures and verdicts), [`output`] (table, Markdown, JSON), [`progress`]
//! (live view), [`demo`] (the built-in scenario), [`table`] (plain-text and
//! Markdown tables).

pub mod demo;
pub mod driver;
pub mod figures;
pub mod judge;
pub mod observe;
pub mod output;
pub mod process;
pub mod progress;
pub mod record;
pub mod recovery;
pub mod report;
pub mod scenario;
pub mod stage;
pub mod table;
pub mod timeline;
pub mod traffic;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;

pub use progress::View;
pub use report::Report;
pub use scenario::Scenario;
pub use stage::{Gateway, Launcher, Stage, StageOptions};

use observe::Observer;
use record::Recorder;
use timeline::Timeline;
use traffic::Generator;

/// How `steadfast chaos` runs a scenario file.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// Drive this running gateway instead of starting one.
    pub gateway_url: Option<String>,
    /// Starts the in-process gateway when none is given.
    pub launcher: Launcher,
    /// Where the report goes (default `target/chaos/<scenario>`).
    pub out: Option<PathBuf>,
    /// Run the short form.
    pub short: bool,
    /// The live view.
    pub view: View,
}

/// Runs the scenario at `path`, writes the report into the output folder and
/// returns it with the folder.
pub async fn run_file(path: &Path, options: &ChaosOptions) -> anyhow::Result<(Report, PathBuf)> {
    let mut scenario = Scenario::load(path)?;
    if options.short {
        let short = scenario.short_duration();
        scenario = scenario.scaled_to(short);
    }
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| Path::new("target").join("chaos").join(&scenario.name));
    let stage_options = StageOptions {
        gateway_url: options.gateway_url.clone(),
        launcher: options.launcher.clone(),
        listen: None,
        dir: out.clone(),
    };
    let stage = Stage::start(&scenario, &stage_options).await?;
    let report = play(&scenario, &stage, options.view).await;
    stage.stop().await;
    let report = report?;
    output::write(&report, &out)?;
    Ok((report, out))
}

/// Plays `scenario` on `stage` and builds the report.
pub async fn play(scenario: &Scenario, stage: &Stage, view: View) -> anyhow::Result<Report> {
    let timeline = Timeline::new(scenario, stage.base.clone());
    let recorder = Arc::new(Recorder::default());
    let observer = Arc::new(Observer::default());
    let duration = scenario.duration.0;
    let (stop, stopped) = watch::channel(false);
    let cpu_before = process::cpu_time();
    let started = Instant::now();
    let poller = {
        let (observer, url, stopped) = (Arc::clone(&observer), stage.url.clone(), stopped.clone());
        tokio::spawn(async move { observer.poll(&url, started, stopped).await })
    };
    let sources = progress::Sources {
        recorder: Arc::clone(&recorder),
        observer: Arc::clone(&observer),
        started,
        total: duration,
    };
    let live = tokio::spawn(progress::show(view, sources, stopped));
    let generator = Generator::new(
        &stage.url,
        scenario.traffic.clone(),
        scenario.seed,
        Arc::clone(&recorder),
        started,
        duration,
    )?;
    let (notes, ()) = tokio::join!(
        driver::drive(&timeline, &stage.sink, started, duration),
        generator.run()
    );
    stop.send_replace(true);
    let _ = tokio::join!(poller, live);
    let usage = if stage.in_process() {
        process::usage(cpu_before, started.elapsed())
    } else {
        None
    };
    let samples = recorder.samples();
    let mut report = report::build(report::Inputs {
        scenario,
        timeline: &timeline,
        samples: &samples,
        observer: &observer,
        in_process: stage.in_process(),
        usage,
        notes,
    });
    report.verdicts = judge::judge(&report, &scenario.targets);
    report.passed = report.verdicts.iter().all(|v| v.passed != Some(false));
    Ok(report)
}
