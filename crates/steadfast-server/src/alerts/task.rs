//! The alert task: evaluates the rules every `evaluate_every` and at once on
//! breaker and health events, sends the notices due, logs and audits fires,
//! escalations and resolutions, and publishes the active alerts. It follows
//! config reloads and ends, after a short drain of the queues, on shutdown.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use steadfast::breaker::State;
use steadfast::events::Event;
use steadfast_config::{AlertsConfig, Config};
use steadfast_proxy::Proxy;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior, interval};

use super::AlertBoard;
use super::channel::ATTEMPT_TIMEOUT;
use super::engine::{Engine, Timing};
use super::notice::{Notice, NoticeKind};
use super::outbox::Outbox;
use super::rules::Watcher;
use super::sample::Snapshot;
use crate::audit::Audit;

/// How long queued notices may still go out after shutdown starts.
const DRAIN: Duration = Duration::from_secs(2);

/// The rules, channels and timing of one `alerts:` section.
struct Setup {
    config: Arc<Config>,
    watcher: Watcher,
    outbox: Outbox,
}

/// Runs alerting over `proxy`'s routes and targets until `stop` turns true,
/// publishing active alerts on `board` and auditing fires and resolutions.
pub async fn run(
    proxy: Arc<Proxy>,
    board: Arc<AlertBoard>,
    audit: Arc<Audit>,
    mut stop: watch::Receiver<bool>,
) {
    let mut events = proxy.events().subscribe();
    let mut bus_open = true;
    let client = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .build()
        .unwrap_or_default();
    let mut workers = JoinSet::new();
    let runtime = proxy.runtime();
    let mut setup = build(&board, &runtime.config, &client, &mut workers);
    let alerts = &runtime.config.alerts;
    let mut engine = Engine::new(timing(alerts));
    let mut every = alerts.evaluate_every.0;
    let mut tick = ticker(every);
    let mut opened: HashSet<Arc<str>> = HashSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {}
            event = events.recv(), if bus_open => match event {
                Ok(Event::BreakerStateChanged { name, to, .. }) => {
                    if matches!(to, State::Open | State::ForcedOpen) {
                        opened.insert(name);
                    }
                }
                Ok(Event::HealthChanged { .. }) | Err(RecvError::Lagged(_)) => {}
                Ok(_) => continue,
                Err(RecvError::Closed) => {
                    bus_open = false;
                    continue;
                }
            },
        }
        let runtime = proxy.runtime();
        if !Arc::ptr_eq(&runtime.config, &setup.config) {
            let alerts = &runtime.config.alerts;
            if *alerts != setup.config.alerts {
                tracing::info!(
                    rules = alerts.rules.len(),
                    channels = alerts.channels.len(),
                    "alert settings reloaded"
                );
                setup = build(&board, &runtime.config, &client, &mut workers);
                engine.set_timing(timing(alerts));
                if alerts.evaluate_every.0 != every {
                    every = alerts.evaluate_every.0;
                    tick = ticker(every);
                }
            } else {
                setup.config = Arc::clone(&runtime.config);
            }
        }
        let snapshot = Snapshot::take(&runtime, &setup.watcher.percentiles(), &opened);
        opened.clear();
        let now = Instant::now();
        let conditions = setup.watcher.evaluate(now, &snapshot);
        for notice in engine.evaluate(now, conditions) {
            record(&audit, &notice);
            setup.outbox.send(notice);
        }
        board.set_active(engine.active());
    }
    drop(setup);
    let drained = tokio::time::timeout(DRAIN, async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("alert notices still queued at shutdown were abandoned");
    }
}

fn build(
    board: &AlertBoard,
    config: &Arc<Config>,
    client: &reqwest::Client,
    workers: &mut JoinSet<()>,
) -> Setup {
    let alerts = &config.alerts;
    Setup {
        config: Arc::clone(config),
        watcher: Watcher::new(&alerts.rules, alerts.evaluate_every.0),
        outbox: Outbox::start(alerts, &board.stats, client, workers),
    }
}

fn timing(alerts: &AlertsConfig) -> Timing {
    Timing {
        repeat_interval: alerts.repeat_interval.0,
        escalate_after: alerts.escalate_after.0,
    }
}

fn ticker(every: Duration) -> tokio::time::Interval {
    let mut tick = interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

/// Logs a notice and audits fires, escalations and resolutions.
fn record(audit: &Audit, notice: &Notice) {
    let alert = &notice.alert;
    let channels = notice
        .channels
        .iter()
        .map(|c| &**c)
        .collect::<Vec<_>>()
        .join(", ");
    let action = match notice.event {
        NoticeKind::Fired => {
            tracing::warn!(alert = %alert.id, rule = %alert.rule, subject = %alert.subject, %channels, "alert fired: {}", alert.summary);
            "alert_fired"
        }
        NoticeKind::Escalated => {
            tracing::warn!(alert = %alert.id, %channels, "alert escalated: {}", alert.summary);
            "alert_escalated"
        }
        NoticeKind::Resolved => {
            tracing::info!(alert = %alert.id, %channels, "alert resolved: {}", alert.summary);
            "alert_resolved"
        }
        NoticeKind::Repeated => {
            tracing::info!(alert = %alert.id, %channels, "alert still active: {}", alert.summary);
            return;
        }
    };
    audit.record(
        action,
        &alert.id,
        "ok",
        &format!("{} (to: {channels})", alert.summary),
    );
}
