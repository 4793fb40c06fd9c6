//! The task that feeds the history: every second it samples each target's
//! counters and latency into a [`Sample`], and it records every event of the
//! library's bus and every gateway notice for the timeline. The gateway owns
//! it and stops it on shutdown, which also ends the open event streams.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::{Sample, TargetSample, event_json, unix_millis};
use crate::net;
use crate::runtime::Runtime;
use crate::server::AppState;

/// How often the counters are sampled.
pub const PERIOD: Duration = Duration::from_secs(1);

/// Samples and records until `stop` turns true, then closes the dashboard's
/// event streams.
pub async fn run(app: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let mut events = app.events.subscribe();
    let mut notices = app.dashboard.subscribe_notices();
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut previous = HashMap::new();
    loop {
        let event = tokio::select! {
            _ = net::wait_for(&mut stop) => break,
            _ = ticks.tick() => {
                let sample = sample(&app.runtime(), &mut previous);
                app.dashboard.with_history(|history| history.push_sample(sample));
                continue;
            }
            received = events.recv() => match received {
                Ok(event) => event_json(&event, unix_millis()),
                Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => break,
            },
            received = notices.recv() => match received {
                Ok(notice) => Some(notice),
                Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => break,
            },
        };
        if let Some(event) = event {
            app.dashboard
                .with_history(|history| history.push_event(event));
        }
    }
    app.dashboard.close();
}

/// The second since the last sample: counter deltas per target (a target
/// rebuilt by a reload starts from zero) and its current latency percentiles.
fn sample(runtime: &Runtime, previous: &mut HashMap<Arc<str>, (u64, u64)>) -> Sample {
    let mut targets = BTreeMap::new();
    let mut seen = HashMap::with_capacity(runtime.targets.len());
    for (name, target) in &runtime.targets {
        let counts = target.counts();
        let now = (counts.attempts, counts.failures);
        let before = previous
            .get(name)
            .copied()
            .filter(|before| before.0 <= now.0 && before.1 <= now.1)
            .unwrap_or((0, 0));
        let millis = |q| {
            target
                .latency
                .percentile(q)
                .map(|d| d.as_secs_f64() * 1000.0)
        };
        targets.insert(
            name.to_string(),
            TargetSample {
                attempts: now.0 - before.0,
                failures: now.1 - before.1,
                p50_ms: millis(0.5),
                p99_ms: millis(0.99),
            },
        );
        seen.insert(Arc::clone(name), now);
    }
    *previous = seen;
    Sample {
        time: unix_millis(),
        targets,
    }
}
