//! Breaker transitions shared by the fleet. A local transition (seen on the
//! events bus) is written to the hash `{prefix}:breakers` (model → record,
//! for instances that join or come back) and published on the channel
//! `{prefix}:breaker-changes`; every other instance adopts it with
//! `Breaker::apply_remote`, which counts no local trip. Half-open is not
//! shared: each instance enters it on its own timer, and the first probe that
//! closes or reopens a breaker decides for the fleet.
//!
//! Loops are cut twice: records carry the publishing instance's id (our own
//! are ignored), and the events that `apply_remote` emits are expected and
//! not published back.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use steadfast::breaker::State;
use steadfast_proxy::runtime::{Runtime, Target};
use steadfast_wire::clock::unix_millis;

use super::link::Link;

/// One breaker's state as the fleet sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    /// The instance that published it.
    from: String,
    /// The model (breaker) name.
    model: String,
    /// The state, snake_case.
    state: String,
    /// For `open`: when the open time ends, in ms since the Unix epoch.
    until_ms: Option<u64>,
}

/// The fleet side of every breaker of this gateway.
#[derive(Debug)]
pub(super) struct Breakers {
    link: Arc<Link>,
    /// Events that applying remote states will emit, not to be published back.
    echoes: Mutex<HashMap<Arc<str>, Vec<State>>>,
    /// Breakers that changed while Redis was away, published on resync.
    dirty: Mutex<HashSet<Arc<str>>>,
}

impl Breakers {
    pub(super) fn new(link: Arc<Link>) -> Breakers {
        Breakers {
            link,
            echoes: Mutex::new(HashMap::new()),
            dirty: Mutex::new(HashSet::new()),
        }
    }

    /// The pub/sub channel of transitions.
    pub(super) fn channel(&self) -> String {
        self.link.key(&["breaker-changes"])
    }

    fn hash(&self) -> String {
        self.link.key(&["breakers"])
    }

    /// A transition of this gateway's breaker `name` to `to`.
    pub(super) async fn local_change(&self, runtime: &Runtime, name: &Arc<str>, to: State) {
        if to == State::HalfOpen || self.take_echo(name, to) {
            return;
        }
        let Some(target) = runtime.targets.get(name) else {
            return;
        };
        if !self.link.is_up() {
            self.mark_dirty([Arc::clone(name)]);
            return;
        }
        if let Err(reason) = self.publish(target).await {
            self.link.failed("breaker_publish", &reason);
            self.mark_dirty([Arc::clone(name)]);
        }
    }

    /// Every breaker may have changed unseen (the events bus lagged).
    pub(super) fn lagged(&self, runtime: &Runtime) {
        self.mark_dirty(runtime.targets.keys().cloned());
        self.link.nudge();
    }

    /// A record from the channel.
    pub(super) fn remote_change(&self, runtime: &Runtime, payload: &str) {
        match serde_json::from_str::<Record>(payload) {
            Ok(record) if record.from != self.link.instance() => self.apply(runtime, &record),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "shared state: unreadable breaker record"),
        }
    }

    /// After (re)connecting: publishes what changed here while Redis was away
    /// and every breaker not closed, then adopts the fleet's records of the rest.
    pub(super) async fn resync(&self, runtime: &Runtime) -> Result<(), String> {
        let dirty: HashSet<Arc<str>> = self
            .dirty
            .lock()
            .map(|mut dirty| std::mem::take(&mut *dirty))
            .unwrap_or_default();
        let mut published = HashSet::new();
        for (name, target) in &runtime.targets {
            let state = target.breaker().state();
            if dirty.contains(name) || !matches!(state, State::Closed | State::HalfOpen) {
                if let Err(reason) = self.publish(target).await {
                    self.mark_dirty(dirty);
                    return Err(reason);
                }
                published.insert(Arc::clone(name));
            }
        }
        let mut connection = self.link.command_connection()?;
        let records: HashMap<String, String> = self
            .link
            .bounded(redis::AsyncCommands::hgetall(&mut connection, self.hash()))
            .await?;
        for (model, payload) in records {
            if published.contains(model.as_str()) {
                continue;
            }
            if let Ok(record) = serde_json::from_str::<Record>(&payload) {
                self.apply(runtime, &record);
            }
        }
        Ok(())
    }

    /// Writes the breaker's current state to the hash and the channel.
    async fn publish(&self, target: &Target) -> Result<(), String> {
        let state = target.breaker().state();
        if state == State::HalfOpen {
            return Ok(());
        }
        let until_ms = target
            .breaker()
            .stats()
            .open_remaining
            .map(|left| unix_millis().saturating_add(millis(left)));
        let record = Record {
            from: self.link.instance().to_owned(),
            model: target.name().to_string(),
            state: state.as_str().to_owned(),
            until_ms,
        };
        let payload = serde_json::to_string(&record).map_err(|error| error.to_string())?;
        // Recorded, then announced: two commands, not a transaction or a
        // pipeline (a cluster takes neither across a key and a channel). A
        // record whose message was lost is read at the next resync;
        // transitions are rare, the second round trip costs nothing.
        let mut connection = self.link.command_connection()?;
        self.link
            .bounded(redis::AsyncCommands::hset::<_, _, _, ()>(
                &mut connection,
                self.hash(),
                &record.model,
                &payload,
            ))
            .await?;
        self.link
            .bounded(redis::AsyncCommands::publish::<_, _, ()>(
                &mut connection,
                self.channel(),
                &payload,
            ))
            .await
    }

    fn apply(&self, runtime: &Runtime, record: &Record) {
        let (Some(target), Some(state)) = (
            runtime.targets.get(record.model.as_str()),
            parse(&record.state),
        ) else {
            return;
        };
        let open_for = match (state, record.until_ms) {
            (State::Open, Some(until)) if until > unix_millis() => {
                Some(Duration::from_millis(until - unix_millis()))
            }
            (State::Open, _) => return,
            _ => None,
        };
        if let Ok(mut echoes) = self.echoes.lock() {
            echoes
                .entry(Arc::clone(target.name()))
                .or_default()
                .push(state);
        }
        if !target.breaker().apply_remote(state, open_for) {
            self.take_echo(target.name(), state);
        }
        tracing::debug!(model = %target.name(), %state, from = %record.from, "shared state: breaker adopted");
    }

    /// Whether an event `name → to` was expected from `apply_remote` (and forgets it).
    fn take_echo(&self, name: &Arc<str>, to: State) -> bool {
        let Ok(mut echoes) = self.echoes.lock() else {
            return false;
        };
        let Some(expected) = echoes.get_mut(name) else {
            return false;
        };
        let found = expected
            .iter()
            .position(|state| *state == to)
            .map(|at| expected.remove(at))
            .is_some();
        if expected.is_empty() {
            echoes.remove(name);
        }
        found
    }

    fn mark_dirty(&self, names: impl IntoIterator<Item = Arc<str>>) {
        if let Ok(mut dirty) = self.dirty.lock() {
            dirty.extend(names);
        }
    }
}

/// The breaker state named `name` (as `State::as_str` writes it).
fn parse(name: &str) -> Option<State> {
    [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::Disabled,
    ]
    .into_iter()
    .find(|state| state.as_str() == name)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_by_name() {
        for state in [
            State::Closed,
            State::Open,
            State::ForcedOpen,
            State::Disabled,
        ] {
            assert_eq!(parse(state.as_str()), Some(state));
        }
        assert_eq!(parse("ajar"), None);
    }
}
