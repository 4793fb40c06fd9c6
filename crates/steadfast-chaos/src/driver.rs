//! The timeline driver: every few milliseconds, gives each provider the
//! settings the timeline says it should have now, and at the end puts every
//! provider back to its settings without faults.

use std::collections::BTreeMap;
use std::time::Duration;

use steadfast_mock::Faults;
use tokio::time::Instant;

use super::stage::Sink;
use super::timeline::Timeline;

/// How often the timeline is applied.
const EVERY: Duration = Duration::from_millis(10);

/// Applies `timeline` through `sink` from `started` for `duration`; returns
/// the settings that could not be applied, as messages.
pub async fn drive(
    timeline: &Timeline,
    sink: &Sink,
    started: Instant,
    duration: Duration,
) -> Vec<String> {
    let mut applied: BTreeMap<&str, Faults> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        ticks.tick().await;
        let t = started.elapsed();
        if t >= duration {
            break;
        }
        for provider in timeline.providers() {
            let faults = timeline.faults_at(provider, t);
            if applied.get(provider.as_str()) != Some(&faults) {
                if let Err(error) = sink.set(provider, &faults).await {
                    problems.push(format!("{provider}: cannot set faults: {error}"));
                }
                applied.insert(provider, faults);
            }
        }
    }
    for provider in timeline.providers() {
        if let Err(error) = sink.set(provider, &timeline.base(provider)).await {
            problems.push(format!("{provider}: cannot restore: {error}"));
        }
    }
    problems
}
