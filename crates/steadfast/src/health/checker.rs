//! [`HealthChecker`]: owns one probing task per registered target.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{Either, select};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use super::state::lock;
use super::{HealthSnapshot, HealthState, OutlierConfig, Probe, ProbeConfig, Status};
use crate::events::{Event, Events};
use crate::rng::Rng;

/// How far ahead "never" is when a configured wait overflows the clock.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// A request for an immediate probe, answered with the status after it.
type ProbeNow = oneshot::Sender<Status>;

/// Probes registered targets on their intervals and keeps their [`HealthState`]s.
///
/// Each target's probe runs in its own task, owned by the checker: dropping
/// the checker or [deregistering](HealthChecker::deregister) the target aborts it.
///
/// ```
/// use std::time::Duration;
/// use steadfast::events::Events;
/// use steadfast::health::{HealthChecker, ProbeConfig, Status};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let checker = HealthChecker::new(Events::new());
/// let state = checker.register(
///     "gpt",
///     ProbeConfig::default().interval(Duration::from_secs(30)),
///     || async { Ok::<(), String>(()) },
/// );
/// assert_eq!(checker.probe_now("gpt").await, Some(Status::Healthy));
/// assert!(state.is_available());
/// # }
/// ```
#[derive(Debug)]
pub struct HealthChecker {
    events: Events,
    outlier: OutlierConfig,
    rng: Rng,
    targets: Mutex<HashMap<Arc<str>, Target>>,
}

/// A registered target and its probing task.
#[derive(Debug)]
struct Target {
    state: HealthState,
    probe_now: mpsc::Sender<ProbeNow>,
    task: JoinHandle<()>,
}

impl Drop for Target {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HealthChecker {
    /// A checker whose targets publish health changes to `events` and use the
    /// default [`OutlierConfig`].
    pub fn new(events: Events) -> HealthChecker {
        HealthChecker {
            events,
            outlier: OutlierConfig::default(),
            rng: Rng::from_entropy(),
            targets: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the outlier ejection of targets registered from now on.
    pub fn with_outlier(mut self, outlier: OutlierConfig) -> HealthChecker {
        self.outlier = outlier;
        self
    }

    /// Seeds the jitter of probe times, for reproducible runs.
    pub fn with_seed(mut self, seed: u64) -> HealthChecker {
        self.rng = Rng::with_seed(seed);
        self
    }

    /// Starts probing a target and returns its health. A target already
    /// registered under `name` is replaced (its task stops, its state is new).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as [`tokio::spawn`] does.
    pub fn register(
        &self,
        name: impl Into<Arc<str>>,
        config: ProbeConfig,
        probe: impl Probe,
    ) -> HealthState {
        let name = name.into();
        let state = HealthState::new(name.clone(), self.events.clone(), self.outlier.clone());
        let (probe_now, requests) = mpsc::channel(4);
        let rng = Rng::with_seed(self.rng.next_u64());
        let task = tokio::spawn(run(state.clone(), config, probe, requests, rng));
        let target = Target {
            state: state.clone(),
            probe_now,
            task,
        };
        let replaced = lock(&self.targets).insert(name, target);
        drop(replaced);
        state
    }

    /// Stops probing a target and forgets it; returns whether it was registered.
    /// Clones of its [`HealthState`] stay readable but no longer change by probes.
    pub fn deregister(&self, name: &str) -> bool {
        let removed = lock(&self.targets).remove(name);
        removed.is_some()
    }

    /// Probes a target now, outside its schedule, and returns its status after
    /// the probe; `None` if no target has that name. The next scheduled probe
    /// comes one interval after this one.
    pub async fn probe_now(&self, name: &str) -> Option<Status> {
        let sender = lock(&self.targets).get(name)?.probe_now.clone();
        let (reply, answer) = oneshot::channel();
        sender.send(reply).await.ok()?;
        answer.await.ok()
    }

    /// The health of a registered target.
    pub fn state(&self, name: &str) -> Option<HealthState> {
        lock(&self.targets)
            .get(name)
            .map(|target| target.state.clone())
    }

    /// Snapshots of every registered target, sorted by name.
    pub fn snapshots(&self) -> Vec<HealthSnapshot> {
        let states: Vec<HealthState> = lock(&self.targets)
            .values()
            .map(|t| t.state.clone())
            .collect();
        let mut snapshots: Vec<HealthSnapshot> = states.iter().map(HealthState::snapshot).collect();
        snapshots.sort_by(|a, b| a.name.cmp(&b.name));
        snapshots
    }

    /// Listens to the event bus, where every health change is published.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}

/// Probes on schedule and on request until aborted.
async fn run(
    state: HealthState,
    config: ProbeConfig,
    probe: impl Probe,
    mut requests: mpsc::Receiver<ProbeNow>,
    rng: Rng,
) {
    let mut next = later(Instant::now(), config.initial_delay + jitter(&config, &rng));
    loop {
        let reply = match select(pin!(sleep_until(next)), pin!(requests.recv())).await {
            Either::Left(_) => None,
            Either::Right((Some(reply), _)) => Some(reply),
            Either::Right((None, _)) => return,
        };
        let started = Instant::now();
        let status = probe_once(&state, &config, &probe).await;
        if let Some(reply) = reply {
            // The asker may have given up waiting; the probe still counted.
            let _ = reply.send(status);
        }
        next = later(started, config.interval + jitter(&config, &rng));
    }
}

/// Runs one probe under the timeout, records it, and returns the status.
async fn probe_once(state: &HealthState, config: &ProbeConfig, probe: &impl Probe) -> Status {
    let started = Instant::now();
    let result = match tokio::time::timeout(config.timeout, probe.probe()).await {
        Ok(result) => result,
        Err(_) => Err(format!("probe timed out after {:?}", config.timeout)),
    };
    let latency = started.elapsed();
    #[cfg(feature = "metrics")]
    metrics::histogram!(
        "steadfast_health_probe_duration_seconds",
        "name" => state.name().to_string(),
        "result" => if result.is_ok() { "success" } else { "failure" },
    )
    .record(latency.as_secs_f64());
    state.record_probe(result, latency, config);
    state.status()
}

/// A random wait in `[0, jitter)`.
fn jitter(config: &ProbeConfig, rng: &Rng) -> Duration {
    Duration::from_nanos(rng.below(super::clock::nanos(config.jitter)))
}

/// `at + wait`, or far in the future if that overflows the clock.
fn later(at: Instant, wait: Duration) -> Instant {
    at.checked_add(wait)
        .or_else(|| at.checked_add(FAR_FUTURE))
        .unwrap_or(at)
}
