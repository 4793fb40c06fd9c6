//! The task that feeds the history: every second it samples each target's
//! counters and latency into a [`Sample`], and it records every event of the
//! library's bus and every gateway notice for the timeline. It is also what
//! feeds the open event streams: each event's JSON once, and each second's
//! status snapshot and sample once, for all of them. It feeds the
//! report's [`Analytics`](crate::analytics::Analytics) from the same seconds
//! and events. The gateway owns
//! it and stops it on shutdown, which also ends the open event streams.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use steadfast_proxy::runtime::Runtime;
use steadfast_wire::clock::unix_millis;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::analytics;
use crate::dashboard::{Sample, TargetSample, Tick, event_json};
use crate::state::AppState;

/// How often the counters are sampled.
pub const PERIOD: Duration = Duration::from_secs(1);

/// Samples and records until `stop` turns true, then closes the dashboard's
/// event streams.
pub async fn run(app: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let mut events = app.proxy.events().subscribe();
    let mut notices = app.dashboard.subscribe_notices();
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut previous = HashMap::new();
    loop {
        let event = tokio::select! {
            _ = steadfast_net::wait_for(&mut stop) => break,
            _ = ticks.tick() => {
                let runtime = app.runtime();
                let sample = sample(&runtime, &mut previous);
                app.analytics.second(&runtime, &sample);
                let json = (app.dashboard.live.subscribers() > 0)
                    .then(|| serde_json::to_string(&sample).ok())
                    .flatten();
                app.dashboard.with_history(|history| history.push_sample(sample));
                if let Some(sample) = json {
                    // Built once a second for every open event stream.
                    let status = crate::status::snapshot(&app).to_string();
                    app.dashboard.live.tick(Tick { status, sample });
                }
                continue;
            }
            received = events.recv() => match received {
                Ok(event) => {
                    let now = unix_millis();
                    app.analytics.event(&event, &app.runtime(), now);
                    event_json(&event, now)
                }
                Err(RecvError::Lagged(missed)) => {
                    app.dashboard.live.skipped(missed);
                    None
                }
                Err(RecvError::Closed) => break,
            },
            received = notices.recv() => match received {
                Ok(notice) => Some(notice),
                Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => break,
            },
        };
        if let Some(event) = event {
            app.dashboard.live.publish(&event.to_string());
            app.dashboard
                .with_history(|history| history.push_event(event));
        }
    }
    app.dashboard.close();
}

/// The second since the last sample: counter deltas per target (a target
/// rebuilt by a reload starts from zero) and its current latency percentiles.
fn sample(runtime: &Runtime, previous: &mut HashMap<Arc<str>, [u64; 2]>) -> Sample {
    let mut targets = BTreeMap::new();
    let mut seen = HashMap::with_capacity(runtime.targets.len());
    for (name, target) in &runtime.targets {
        let counts = target.counts();
        let now = [counts.attempts, counts.failures];
        let [attempts, failures] = analytics::delta(previous.get(name), now);
        let millis = |q| {
            target
                .latency()
                .percentile(q)
                .map(|d| d.as_secs_f64() * 1000.0)
        };
        targets.insert(
            name.to_string(),
            TargetSample {
                attempts,
                failures,
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
