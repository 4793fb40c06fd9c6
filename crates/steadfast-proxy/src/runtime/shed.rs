//! Priority admission (`routes.<name>.shedding`): a route takes at most its
//! capacity in flight — the concurrency limits of its targets that can take
//! requests now (breaker not open, healthy, not cooling down after a
//! `Retry-After`, not at their rate limit) summed: each target's learned
//! limit (`adaptive_concurrency`) as it is now, or its `max_concurrency`. A
//! configured `capacity` is scaled by the share of those limits that is up.
//!
//! It is work-conserving: a request is admitted at once while the route has
//! a free place and nobody of its priority or higher waits; nothing is
//! refused while capacity is free. When the route is full, requests wait in
//! a bounded queue, and each place given back goes to the highest priority
//! waiting (strict priority, first come first served within a priority). A
//! high-priority request never waits behind a lower one: it takes the next
//! place that frees; one already in flight is never cut off. A request waits
//! at most its priority's `max_wait`, then is refused (503 `load_shed`) with
//! a `Retry-After` from how fast the route drains. A full queue makes room
//! for a higher priority by refusing the lowest priority's latest waiter.
//! With every target out nothing is held back: the route answers as it does
//! then (fast 503, a stale or static answer).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use metrics::{Counter, counter};
use steadfast_config::{Priority, PriorityWaits, SheddingConfig};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::target::Target;
use crate::telemetry::SHED;

/// How often a waiting request looks again at the route's capacity (which
/// grows when a target comes back, with no place given back).
const RECHECK: Duration = Duration::from_millis(100);

/// Places given back that measure how fast the route drains.
const DRAIN_SAMPLES: usize = 64;

/// The longest `Retry-After` given.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A route's admission.
#[derive(Debug)]
pub struct Shedder {
    /// The configured capacity with every target up, if any.
    capacity: Option<usize>,
    waits: PriorityWaits,
    max_queue: usize,
    retry_after: Duration,
    gate: Arc<Gate>,
    shed: [Counter; Priority::ALL.len()],
}

/// The places of a route, shared by its requests (and with the route that
/// replaces it on a reload): those in flight, those waiting by priority,
/// and when places were last given back.
#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    in_flight: usize,
    /// The capacity as last computed, for places given back.
    capacity: usize,
    waiting: [VecDeque<oneshot::Sender<()>>; Priority::ALL.len()],
    drained: VecDeque<Instant>,
}

impl GateState {
    /// Requests waiting (not those that gave up).
    fn queued(&self) -> usize {
        self.waiting
            .iter()
            .flatten()
            .filter(|waiter| !waiter.is_closed())
            .count()
    }

    /// Gives free places to the highest priorities waiting.
    fn pump(&mut self) {
        for queue in self.waiting.iter_mut().rev() {
            while self.in_flight < self.capacity {
                let Some(waiter) = queue.pop_front() else {
                    break;
                };
                // A waiter that gave up is passed over.
                if waiter.send(()).is_ok() {
                    self.in_flight += 1;
                }
            }
        }
    }

    /// Forgets waiters that gave up.
    fn forget_gone(&mut self) {
        for queue in &mut self.waiting {
            queue.retain(|waiter| !waiter.is_closed());
        }
    }

    /// Whether a request of `priority` or higher is waiting.
    fn waiting_from(&self, priority: Priority) -> bool {
        self.waiting[priority as usize..]
            .iter()
            .any(|queue| !queue.is_empty())
    }

    /// Places given back per second lately, if known.
    fn drain_rate(&self) -> Option<f64> {
        let (first, last) = (self.drained.front()?, self.drained.back()?);
        let span = last.duration_since(*first).as_secs_f64();
        (self.drained.len() > 1 && span > 0.0).then(|| (self.drained.len() - 1) as f64 / span)
    }
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// Requests waiting for a place.
    pub fn waiting(&self) -> usize {
        self.lock().queued()
    }

    fn give_back(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.drained.len() == DRAIN_SAMPLES {
            state.drained.pop_front();
        }
        state.drained.push_back(Instant::now());
        state.pump();
    }
}

/// A request's place in its route's capacity, held until its answer ends.
#[derive(Debug)]
pub struct ShedPermit(Arc<Gate>);

impl Drop for ShedPermit {
    fn drop(&mut self) {
        self.0.give_back();
    }
}

/// A request refused for want of a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shed {
    /// Its priority.
    pub priority: Priority,
    /// How long it waited.
    pub waited: Duration,
    /// When to try again.
    pub retry_after: Duration,
}

impl Shedder {
    /// The admission of `route` over `targets`; a reloaded route keeps the
    /// places of its predecessor (`gate`).
    pub fn new(
        route: &str,
        settings: &SheddingConfig,
        targets: &[Arc<Target>],
        gate: Option<Arc<Gate>>,
    ) -> Shedder {
        let whole = settings
            .capacity
            .unwrap_or_else(|| targets.iter().map(limit).fold(0, usize::saturating_add));
        Shedder {
            capacity: settings.capacity,
            waits: settings.max_wait.clone(),
            max_queue: settings.max_queue.unwrap_or(whole).max(1),
            retry_after: settings.retry_after.0,
            gate: gate.unwrap_or_default(),
            shed: Priority::ALL.map(|priority| {
                counter!(SHED, "route" => route.to_owned(), "priority" => priority.as_str())
            }),
        }
    }

    /// The route's places, shared with a reloaded route.
    pub fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }

    /// The route's capacity now: the limits of the targets that can take
    /// requests, summed, or the configured capacity scaled by their share.
    pub fn capacity_now(&self, targets: &[Arc<Target>]) -> usize {
        let up = targets
            .iter()
            .filter(|t| t.has_capacity())
            .map(limit)
            .fold(0, usize::saturating_add);
        let Some(configured) = self.capacity else {
            return up;
        };
        let whole = targets.iter().map(limit).fold(0, usize::saturating_add);
        if whole == 0 {
            return 0;
        }
        (configured as f64 * up as f64 / whole as f64).round() as usize
    }

    /// A place for a request of `priority`, at once or after waiting its
    /// turn, or why not.
    pub async fn admit(
        &self,
        priority: Priority,
        targets: &[Arc<Target>],
    ) -> Result<ShedPermit, Shed> {
        let started = Instant::now();
        let deadline = started + self.waits.of(priority);
        let mut turn = {
            let mut state = self.gate.lock();
            let capacity = self.capacity_now(targets);
            // With no target up there is nothing to keep: the route answers
            // as it does with every target out.
            state.capacity = if capacity == 0 { usize::MAX } else { capacity };
            state.forget_gone();
            state.pump();
            if state.in_flight < state.capacity && !state.waiting_from(priority) {
                state.in_flight += 1;
                return Ok(ShedPermit(Arc::clone(&self.gate)));
            }
            if state.queued() >= self.max_queue && !make_room(&mut state, priority) {
                return Err(self.refuse(&state, priority, started));
            }
            let (sender, receiver) = oneshot::channel();
            state.waiting[priority as usize].push_back(sender);
            receiver
        };
        loop {
            let wake = deadline.min(Instant::now() + RECHECK);
            match tokio::time::timeout_at(wake, &mut turn).await {
                Ok(Ok(())) => return Ok(ShedPermit(Arc::clone(&self.gate))),
                // Refused to make room for a higher priority.
                Ok(Err(_)) => return Err(self.refuse(&self.gate.lock(), priority, started)),
                Err(_) if Instant::now() >= deadline => break,
                Err(_) => {
                    // The capacity may have grown (a target came back).
                    let mut state = self.gate.lock();
                    let capacity = self.capacity_now(targets);
                    state.capacity = if capacity == 0 { usize::MAX } else { capacity };
                    state.pump();
                }
            }
        }
        // No more places given: one given meanwhile is taken.
        turn.close();
        match turn.try_recv() {
            Ok(()) => Ok(ShedPermit(Arc::clone(&self.gate))),
            Err(_) => Err(self.refuse(&self.gate.lock(), priority, started)),
        }
    }

    /// Counts and describes the refusal of a request of `priority`.
    fn refuse(&self, state: &GateState, priority: Priority, started: Instant) -> Shed {
        self.shed[priority as usize].increment(1);
        // Long enough for the queue ahead of a new request to drain.
        let drain = state
            .drain_rate()
            .map(|rate| Duration::from_secs_f64((state.queued() + 1) as f64 / rate))
            .unwrap_or_default();
        Shed {
            priority,
            waited: started.elapsed(),
            retry_after: drain.clamp(self.retry_after, MAX_RETRY_AFTER.max(self.retry_after)),
        }
    }
}

/// A target's concurrency limit now, as its weight in the route's capacity
/// (1 where unbounded: only with a configured `capacity`).
fn limit(target: &Arc<Target>) -> usize {
    target.concurrency_limit().unwrap_or(1)
}

/// Makes room in a full queue for a request of `priority`: the latest waiter
/// of the lowest priority below it is refused. Whether room was made.
fn make_room(state: &mut GateState, priority: Priority) -> bool {
    for queue in state.waiting[..priority as usize].iter_mut() {
        if queue.pop_back().is_some() {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use steadfast::events::Events;
    use steadfast::health::{HealthState, OutlierConfig};

    use super::*;
    use crate::upstream::Provider;

    fn target(name: &str, max_concurrency: usize) -> Arc<Target> {
        let provider = serde_json::from_value(
            serde_json::json!({"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}),
        )
        .unwrap();
        let model = serde_json::from_value(serde_json::json!({
            "provider": "p", "model": name, "max_concurrency": max_concurrency
        }))
        .unwrap();
        let health = HealthState::new(name, Events::none(), OutlierConfig::disabled());
        let provider = Arc::new(Provider::from_config("p", &provider).unwrap());
        Arc::new(Target::new(
            name,
            &model,
            provider,
            health,
            &Events::none(),
            None,
        ))
    }

    fn shedder(targets: &[Arc<Target>], settings: serde_json::Value) -> Shedder {
        let settings: SheddingConfig = serde_json::from_value(settings).unwrap();
        Shedder::new("chat", &settings, targets, None)
    }

    /// Admits `count` requests of `priority` at once.
    async fn fill(
        shedder: &Shedder,
        targets: &[Arc<Target>],
        priority: Priority,
        count: usize,
    ) -> Vec<ShedPermit> {
        let mut held = Vec::new();
        for _ in 0..count {
            held.push(shedder.admit(priority, targets).await.unwrap());
        }
        held
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_refused_while_capacity_is_free() {
        let targets = [target("a", 10), target("b", 10)];
        let shedder = shedder(&targets, serde_json::json!({}));
        let held = fill(&shedder, &targets, Priority::Low, 20).await;
        assert_eq!(
            shedder.gate().in_flight(),
            20,
            "low may fill the whole route"
        );
        drop(held);
        assert_eq!(shedder.gate().in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_place_given_back_goes_to_the_highest_priority_waiting() {
        let targets = [target("a", 2)];
        let shedder = Arc::new(shedder(&targets, serde_json::json!({})));
        let targets = Arc::new(targets);
        let mut held = fill(&shedder, &targets[..], Priority::Low, 2).await;
        let waiter = |priority| {
            let (shedder, targets) = (Arc::clone(&shedder), Arc::clone(&targets));
            tokio::spawn(async move { shedder.admit(priority, &targets[..]).await })
        };
        let low = waiter(Priority::Low);
        tokio::task::yield_now().await;
        let high = waiter(Priority::High);
        tokio::task::yield_now().await;
        assert_eq!(shedder.gate().waiting(), 2);
        held.pop();
        let high = high
            .await
            .unwrap()
            .expect("the high request came later but goes first");
        assert!(!low.is_finished(), "the low request still waits");
        held.pop();
        let low = low.await.unwrap().expect("then the low one");
        assert_eq!(shedder.gate().in_flight(), 2);
        drop((high, low));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_waits_its_prioritys_time_then_is_refused() {
        let targets = [target("a", 1)];
        let shedder = shedder(&targets, serde_json::json!({"max_wait": {"low": "300ms"}}));
        let _held = fill(&shedder, &targets, Priority::High, 1).await;
        let started = Instant::now();
        let refused = shedder.admit(Priority::Low, &targets).await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_millis(300));
        assert_eq!(refused.waited, Duration::from_millis(300));
        assert_eq!(
            refused.retry_after,
            Duration::from_secs(1),
            "the least Retry-After"
        );
        assert_eq!(shedder.gate().waiting(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_refuses_the_lowest_to_make_room_for_a_higher_priority() {
        let targets = [target("a", 1)];
        let shedder = Arc::new(shedder(&targets, serde_json::json!({"max_queue": 1})));
        let targets = Arc::new(targets);
        let _held = fill(&shedder, &targets[..], Priority::Normal, 1).await;
        let low = {
            let (shedder, targets) = (Arc::clone(&shedder), Arc::clone(&targets));
            tokio::spawn(async move { shedder.admit(Priority::Low, &targets[..]).await })
        };
        tokio::task::yield_now().await;
        // The queue (1) is full: another low request is refused at once...
        let refused = shedder
            .admit(Priority::Low, &targets[..])
            .await
            .unwrap_err();
        assert_eq!(refused.waited, Duration::ZERO);
        // ...while a high one takes the low waiter's place in it.
        let high = {
            let (shedder, targets) = (Arc::clone(&shedder), Arc::clone(&targets));
            tokio::spawn(async move { shedder.admit(Priority::High, &targets[..]).await })
        };
        assert!(low.await.unwrap().is_err(), "the low waiter made room");
        assert_eq!(shedder.gate().waiting(), 1);
        drop(_held);
        assert!(high.await.unwrap().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_target_coming_back_lets_waiters_in() {
        let targets = [target("a", 2), target("b", 2)];
        let shedder = Arc::new(shedder(&targets, serde_json::json!({})));
        targets[1].breaker.force_open();
        let targets = Arc::new(targets);
        let _held = fill(&shedder, &targets[..], Priority::Normal, 2).await;
        let waiting = {
            let (shedder, targets) = (Arc::clone(&shedder), Arc::clone(&targets));
            tokio::spawn(async move { shedder.admit(Priority::Normal, &targets[..]).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        targets[1].breaker.reset();
        let admitted = waiting.await.unwrap();
        assert!(admitted.is_ok(), "admitted at the next look");
        assert_eq!(shedder.gate().in_flight(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_held_back_when_every_target_is_out() {
        let targets = [target("a", 1)];
        targets[0].breaker.force_open();
        let shedder = shedder(&targets, serde_json::json!({}));
        let held = fill(&shedder, &targets, Priority::Low, 5).await;
        assert_eq!(held.len(), 5);
    }
}
