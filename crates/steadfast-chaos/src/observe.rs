//! What the gateway said about its targets: `/api/status` polled during the
//! run, kept as each target's changes of availability (breaker open or
//! ejected), and the latest snapshot for the live view. Polling works the
//! same for an in-process and a remote gateway.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

/// How often the status is read.
const EVERY: Duration = Duration::from_millis(50);

/// One target as the last status showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetView {
    /// The model's name.
    pub name: String,
    /// Its provider.
    pub provider: String,
    /// The breaker's state.
    pub breaker: String,
    /// The health status.
    pub health: String,
    /// Whether requests may go to it (breaker admits, not ejected, not
    /// cooling down after a `Retry-After`).
    pub available: bool,
    /// Requests it takes at once (its `max_concurrency` or learned limit);
    /// none when unbounded.
    pub concurrency_limit: Option<usize>,
}

/// What a target's state says about taking traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Admits {
    /// Requests may go to it.
    available: bool,
    /// Its breaker is closed (not probing after an open spell).
    closed: bool,
}

impl Admits {
    const FULLY: Admits = Admits {
        available: true,
        closed: true,
    };
}

#[derive(Debug, Default)]
struct History {
    provider: String,
    /// The highest concurrency limit seen; none once seen unbounded.
    limit: Option<usize>,
    unbounded: bool,
    /// The state at each change.
    changes: Vec<(Duration, Admits)>,
}

impl History {
    fn at(&self, t: Duration) -> Admits {
        self.changes
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .map_or(Admits::FULLY, |(_, state)| *state)
    }
}

/// The targets' availability over the run.
#[derive(Debug, Default)]
pub struct Observer {
    history: Mutex<BTreeMap<String, History>>,
    latest: Mutex<Vec<TargetView>>,
}

impl Observer {
    /// Reads `{url}/api/status` every 50 ms until `stop` turns true.
    pub async fn poll(&self, url: &str, started: Instant, mut stop: watch::Receiver<bool>) {
        let client = reqwest::Client::new();
        let status_url = format!("{url}/api/status");
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            let at = started.elapsed();
            let Ok(response) = client.get(&status_url).timeout(EVERY * 10).send().await else {
                continue;
            };
            if let Ok(status) = response.json::<Value>().await {
                self.note(at, &status);
            }
        }
    }

    /// Records a status snapshot read `at` into the run.
    pub(crate) fn note(&self, at: Duration, status: &Value) {
        let views: Vec<TargetView> = status["targets"]
            .as_array()
            .map(|targets| targets.iter().map(view).collect())
            .unwrap_or_default();
        if let Ok(mut history) = self.history.lock() {
            for target in &views {
                let entry = history.entry(target.name.clone()).or_default();
                entry.provider.clone_from(&target.provider);
                match target.concurrency_limit {
                    Some(limit) => entry.limit = entry.limit.max(Some(limit)),
                    None => entry.unbounded = true,
                }
                let state = Admits {
                    available: target.available,
                    closed: target.breaker == "closed",
                };
                if entry.changes.last().is_none_or(|(_, last)| *last != state) {
                    entry.changes.push((at, state));
                }
            }
        }
        if let Ok(mut latest) = self.latest.lock() {
            *latest = views;
        }
    }

    /// The latest snapshot.
    pub fn latest(&self) -> Vec<TargetView> {
        self.latest.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The provider of target `name`.
    pub fn provider_of(&self, name: &str) -> Option<String> {
        let history = self.history.lock().ok()?;
        history.get(name).map(|h| h.provider.clone())
    }

    /// Requests `provider` takes at once through the gateway: the highest
    /// concurrency limits seen of its targets, summed; none when one of them
    /// is unbounded (or the provider was never seen).
    pub fn provider_concurrency(&self, provider: &str) -> Option<usize> {
        let history = self.history.lock().ok()?;
        let mut targets = history
            .values()
            .filter(|h| h.provider == provider)
            .peekable();
        targets.peek()?;
        targets.try_fold(0usize, |sum, h| {
            (!h.unbounded).then_some(())?;
            Some(sum + h.limit?)
        })
    }

    /// The first moment in `[from, until)` at which a target of `provider`
    /// was unavailable.
    pub fn first_unavailable(
        &self,
        provider: &str,
        from: Duration,
        until: Duration,
    ) -> Option<Duration> {
        self.first_time(provider, from, until, |states| {
            states.iter().any(|s| !s.available)
        })
    }

    /// The first moment in `[from, until)` at which every target of `provider`
    /// was available with its breaker closed.
    pub fn first_available(
        &self,
        provider: &str,
        from: Duration,
        until: Duration,
    ) -> Option<Duration> {
        self.first_time(provider, from, until, |states| {
            states.iter().all(|s| *s == Admits::FULLY)
        })
    }

    fn first_time(
        &self,
        provider: &str,
        from: Duration,
        until: Duration,
        holds: impl Fn(&[Admits]) -> bool,
    ) -> Option<Duration> {
        let history = self.history.lock().ok()?;
        let targets: Vec<&History> = history
            .values()
            .filter(|h| h.provider == provider)
            .collect();
        if targets.is_empty() {
            return None;
        }
        let mut moments: Vec<Duration> = targets
            .iter()
            .flat_map(|h| h.changes.iter().map(|(at, _)| *at))
            .filter(|at| (from..until).contains(at))
            .collect();
        moments.push(from);
        moments.sort();
        moments.into_iter().find(|&t| {
            let states: Vec<Admits> = targets.iter().map(|h| h.at(t)).collect();
            holds(&states)
        })
    }
}

fn view(target: &Value) -> TargetView {
    let text = |key: &str| target[key].as_str().unwrap_or_default().to_owned();
    TargetView {
        name: text("name"),
        provider: text("provider"),
        breaker: text("breaker"),
        health: text("health"),
        available: target["available"].as_bool().unwrap_or(true)
            && target["cooling_down_ms"].is_null(),
        concurrency_limit: target["concurrency"]["limit"]
            .as_u64()
            .and_then(|limit| usize::try_from(limit).ok()),
    }
}
