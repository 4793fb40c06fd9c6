//! The lock-free state machine shared by every handle of one breaker.
//!
//! The state and a generation live in one `AtomicU64` (`generation << 3 |
//! state`). Every transition — and every manual reset — bumps the generation
//! with a `compare_exchange`, so exactly one thread performs and announces it,
//! and a permit can tell whether the breaker moved on since it was granted.
//!
//! Half-open probes are counted in [`Probes`], tagged with the generation of
//! their half-open period.
//!
//! The happy path — a permit granted while closed and reported a success —
//! is inlined into the caller and costs two atomic read-modify-writes: the
//! `permitted` counter, and the window's lifetime call count, which also
//! counts the success (see [`window`](super::window)). It reads the clock only
//! when slow calls are tracked or the window is time-based. Everything else
//! goes through out-of-line functions.
//!
//! Approximations under races: an outcome checked against the generation just
//! before a transition lands in the window a moment after it (it may be
//! counted in the new state's window, or lost when the window is cleared); two
//! threads racing into `Open` may leave the later writer's open-until; events
//! from transitions performed by different threads may be delivered out of
//! order.

use std::sync::Arc;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

use super::BreakerOpen;
use super::State;
use super::clock::{Clock, nanos};
use super::config::BreakerConfig;
use super::probes::Probes;
use super::stats::{BreakerStats, Counters, bump};
use super::window::{CALL, FAILED, SLOW, Window};
use crate::events::{Event, Events, Rejection};

/// What became of one permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Report {
    Success,
    Failure,
    Ignored,
    Cancelled,
}

/// What a permit remembers: the state word it was granted under and, when
/// the call is timed (slow calls tracked, not disabled), when it was granted
/// on the breaker's clock (else 0). Two words, so it moves in registers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    word: u64,
    start: u64,
}

/// The shared state of one breaker.
#[derive(Debug)]
pub(crate) struct Machine {
    pub(crate) name: Arc<str>,
    pub(crate) config: BreakerConfig,
    events: Events,
    clock: Clock,
    word: AtomicU64,
    probes: Probes,
    open_until: AtomicU64,
    window: Window,
    min_calls: u32,
    /// `config.slow_call_duration` in nanoseconds.
    slow_after: Option<u64>,
    consecutive: AtomicU32,
    streak: AtomicU32,
    counters: Counters,
}

const fn code(state: State) -> u64 {
    match state {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
        State::ForcedOpen => 3,
        State::Disabled => 4,
    }
}

/// Whether `word` holds `State::Closed`.
const fn is_closed(word: u64) -> bool {
    word & 0b111 == code(State::Closed)
}

const fn state_of(word: u64) -> State {
    match word & 0b111 {
        0 => State::Closed,
        1 => State::Open,
        2 => State::HalfOpen,
        3 => State::ForcedOpen,
        _ => State::Disabled,
    }
}

const fn next_word(word: u64, to: State) -> u64 {
    (generation(word).wrapping_add(1) << 3) | code(to)
}

/// The generation of a state word.
const fn generation(word: u64) -> u64 {
    word >> 3
}

impl Machine {
    pub(crate) fn new(name: Arc<str>, config: BreakerConfig, events: Events) -> Machine {
        let config = config.normalized();
        let window = Window::new(config.window);
        let min_calls = match window.capacity() {
            Some(capacity) => config.min_calls.min(capacity),
            None => config.min_calls,
        }
        .max(1);
        // A new breaker is closed: say so, so its gauge exists before any change.
        #[cfg(feature = "metrics")]
        metrics::gauge!("steadfast_breaker_state", "name" => name.to_string())
            .set(code(State::Closed) as f64);
        Machine {
            name,
            slow_after: config.slow_call_duration.map(nanos),
            config,
            events,
            clock: Clock::start(),
            word: AtomicU64::new(code(State::Closed)),
            probes: Probes::default(),
            open_until: AtomicU64::new(0),
            window,
            min_calls,
            consecutive: AtomicU32::new(0),
            streak: AtomicU32::new(0),
            counters: Counters::default(),
        }
    }

    pub(crate) fn state(&self) -> State {
        state_of(self.word.load(Acquire))
    }

    /// Whether a call asking now could be let through: closed, disabled,
    /// half-open, or open with its open time over. Takes no permit.
    pub(crate) fn would_admit(&self) -> bool {
        match self.state() {
            State::Closed | State::Disabled | State::HalfOpen => true,
            State::Open => self
                .open_remaining(State::Open)
                .is_some_and(|left| left.is_zero()),
            State::ForcedOpen => false,
        }
    }

    /// Grants a permit or says why not. Reads the clock only when open, or
    /// when slow calls are tracked.
    #[inline]
    pub(crate) fn acquire(&self) -> Result<Ticket, BreakerOpen> {
        let word = self.word.load(Acquire);
        if matches!(state_of(word), State::Closed | State::Disabled) {
            return Ok(self.admit(word));
        }
        self.acquire_slow(word)
    }

    /// [`acquire`](Self::acquire) when open, forced open or half-open,
    /// starting from `word` just read.
    #[cold]
    #[inline(never)]
    fn acquire_slow(&self, mut word: u64) -> Result<Ticket, BreakerOpen> {
        loop {
            let retry_after = match state_of(word) {
                State::Closed | State::Disabled => return Ok(self.admit(word)),
                State::HalfOpen
                    if self
                        .probes
                        .claim(generation(word), self.config.half_open_calls) =>
                {
                    return Ok(self.admit(word));
                }
                State::HalfOpen | State::ForcedOpen => None,
                State::Open => {
                    let now = self.clock.now();
                    let until = self.open_until.load(Acquire);
                    if now >= until {
                        self.transition(word, State::HalfOpen, None);
                        word = self.word.load(Acquire);
                        continue;
                    }
                    Some(Duration::from_nanos(until - now))
                }
            };
            bump(&self.counters.rejected);
            self.events.emit(Event::Rejected {
                name: Arc::clone(&self.name),
                by: Rejection::BreakerOpen,
            });
            return Err(BreakerOpen {
                name: Arc::clone(&self.name),
                retry_after,
            });
        }
    }

    #[inline]
    fn admit(&self, word: u64) -> Ticket {
        bump(&self.counters.permitted);
        let start = if self.timed(word) {
            self.clock.now()
        } else {
            0
        };
        Ticket { word, start }
    }

    /// Whether a permit granted under `word` is timed for slow-call tracking.
    #[inline]
    fn timed(&self, word: u64) -> bool {
        self.slow_after.is_some() && state_of(word) != State::Disabled
    }

    /// Judges what became of a permit.
    #[inline]
    pub(crate) fn finish(&self, ticket: Ticket, report: Report) {
        // The happy path: an untimed success, granted while closed, with the
        // breaker unchanged since.
        if report == Report::Success
            && is_closed(ticket.word)
            && self.slow_after.is_none()
            && self.word.load(Acquire) == ticket.word
        {
            self.succeed_closed(ticket.word);
        } else {
            self.settle(ticket, report);
        }
    }

    /// Records an untimed success judged in `Closed` under `word` (the
    /// window counts it). A success can still trip the breaker: when it
    /// brings a filling window to `min_calls` with failures at the rate, or
    /// when older calls have left a time window.
    #[inline]
    fn succeed_closed(&self, word: u64) {
        let may_raise_rate = self.window.record(CALL, &self.clock, None);
        if self.consecutive.load(Relaxed) != 0 {
            self.consecutive.store(0, Relaxed);
        }
        if may_raise_rate {
            self.judge_rates(word);
        }
    }

    /// Trips from `word` when a rate is at its threshold.
    #[cold]
    #[inline(never)]
    fn judge_rates(&self, word: u64) {
        if self.exceeds_thresholds() {
            self.open_from(word);
        }
    }

    /// [`finish`](Self::finish) off the happy path.
    #[inline(never)]
    fn settle(&self, ticket: Ticket, report: Report) {
        let word = self.word.load(Acquire);
        let current = word == ticket.word;
        let state = state_of(word);
        let counter = match report {
            Report::Cancelled => Some(&self.counters.cancelled),
            _ if !current => Some(&self.counters.stale),
            Report::Ignored => Some(&self.counters.ignored),
            // The window counts the calls it records.
            Report::Success | Report::Failure if state == State::Closed => None,
            Report::Success => Some(&self.counters.successes),
            Report::Failure => Some(&self.counters.failures),
        };
        if let Some(counter) = counter {
            bump(counter);
        }
        if !current {
            return;
        }
        if matches!(report, Report::Cancelled | Report::Ignored) {
            if state == State::HalfOpen {
                self.probes.release(generation(word), false);
            }
            return;
        }
        let failed = report == Report::Failure;
        // One clock read serves both the slow-call check and the time window.
        let end = self.timed(ticket.word).then(|| self.clock.now());
        let slow = match (end, self.slow_after) {
            (Some(end), Some(limit)) => end.saturating_sub(ticket.start) >= limit,
            _ => false,
        };
        if slow {
            bump(&self.counters.slow);
        }
        match state {
            State::Closed => self.judge_closed(word, failed, slow, end),
            State::HalfOpen if failed || slow => {
                self.open_from(word);
            }
            State::HalfOpen => {
                if self.probes.release(generation(word), true)
                    >= u64::from(self.config.half_open_calls)
                {
                    self.close_from(word);
                }
            }
            State::Open | State::ForcedOpen | State::Disabled => {}
        }
    }

    fn judge_closed(&self, word: u64, failed: bool, slow: bool, end: Option<u64>) {
        let mut call = CALL;
        if failed {
            call |= FAILED;
        }
        if slow {
            call |= SLOW;
        }
        let may_raise_rate = self.window.record(call, &self.clock, end);
        if failed {
            let in_a_row = self.consecutive.fetch_add(1, Relaxed).saturating_add(1);
            if self
                .config
                .consecutive_failures
                .is_some_and(|limit| in_a_row >= limit)
            {
                self.open_from(word);
                return;
            }
        } else if self.consecutive.load(Relaxed) != 0 {
            self.consecutive.store(0, Relaxed);
        }
        if failed || slow || may_raise_rate {
            self.judge_rates(word);
        }
    }

    fn exceeds_thresholds(&self) -> bool {
        let tally = self.window.tally(&self.clock);
        if tally.calls < self.min_calls {
            return false;
        }
        let calls = f64::from(tally.calls);
        f64::from(tally.failures) >= self.config.failure_rate * calls
            || (self.config.slow_call_duration.is_some()
                && f64::from(tally.slow) >= self.config.slow_call_rate * calls)
    }

    /// Opens from `word` for the duration the current trip streak earns.
    /// Returns whether this thread performed the trip.
    fn open_from(&self, word: u64) -> bool {
        let streak = self.streak.load(Relaxed).saturating_add(1);
        let open_for = self.config.open_duration(streak);
        if self.transition(word, State::Open, Some(open_for)) {
            self.streak.fetch_add(1, Relaxed);
            bump(&self.counters.trips);
            true
        } else {
            false
        }
    }

    fn close_from(&self, word: u64) {
        self.forget();
        if self.transition(word, State::Closed, None) {
            self.streak.store(0, Relaxed);
        }
    }

    /// Empties the window and the failure run, before entering `Closed`.
    fn forget(&self) {
        self.window.clear();
        self.consecutive.store(0, Relaxed);
    }

    /// Moves from exactly `from` to `to` (a new generation), storing the open
    /// deadline first when given. Returns whether this thread did it.
    fn transition(&self, from: u64, to: State, open_for: Option<Duration>) -> bool {
        if let Some(open_for) = open_for {
            let until = self.clock.now().saturating_add(nanos(open_for));
            self.open_until.store(until, Release);
        }
        let moved = self
            .word
            .compare_exchange(from, next_word(from, to), AcqRel, Acquire)
            .is_ok();
        if moved {
            self.announce(state_of(from), to);
        }
        moved
    }

    /// Moves to `to` from whatever state holds now (manual and remote changes).
    fn force(&self, to: State, open_for: Option<Duration>) {
        loop {
            let word = self.word.load(Acquire);
            if self.transition(word, to, open_for) {
                return;
            }
        }
    }

    fn announce(&self, from: State, to: State) {
        if from == to {
            return;
        }
        tracing::debug!(breaker = %self.name, %from, %to, "circuit breaker state changed");
        #[cfg(feature = "metrics")]
        metrics::gauge!("steadfast_breaker_state", "name" => self.name.to_string())
            .set(code(to) as f64);
        self.events.emit(Event::BreakerStateChanged {
            name: Arc::clone(&self.name),
            from,
            to,
        });
    }

    /// Opens now, for the duration the current trip streak earns.
    pub(crate) fn trip(&self) {
        while !self.open_from(self.word.load(Acquire)) {}
    }

    pub(crate) fn force_open(&self) {
        self.force(State::ForcedOpen, None);
    }

    pub(crate) fn disable(&self) {
        self.force(State::Disabled, None);
    }

    pub(crate) fn reset(&self) {
        self.forget();
        self.streak.store(0, Relaxed);
        self.force(State::Closed, None);
    }

    /// Adopts a state decided elsewhere, without counting a trip. Returns
    /// whether the state changed.
    pub(crate) fn apply_remote(&self, to: State, open_for: Option<Duration>) -> bool {
        let open_for = (to == State::Open).then(|| open_for.unwrap_or(self.config.open_for));
        loop {
            let word = self.word.load(Acquire);
            if state_of(word) == to {
                if let Some(open_for) = open_for {
                    let until = self.clock.now().saturating_add(nanos(open_for));
                    self.open_until.store(until, Release);
                }
                return false;
            }
            if to == State::Closed {
                self.forget();
            }
            if self.transition(word, to, open_for) {
                return true;
            }
        }
    }

    pub(crate) fn open_remaining(&self, state: State) -> Option<Duration> {
        (state == State::Open).then(|| {
            let until = self.open_until.load(Acquire);
            Duration::from_nanos(until.saturating_sub(self.clock.now()))
        })
    }

    pub(crate) fn stats(&self) -> BreakerStats {
        let state = self.state();
        let tally = self.window.tally(&self.clock);
        let counters = &self.counters;
        let read = Counters::read;
        // Calls judged in `Closed` are counted by the window. Its failures
        // are read first: a failure being recorded meanwhile is then at worst
        // seen as a success for a moment, never lost from the sum.
        let (recorded_failures, recorded) = self.window.lifetime();
        BreakerStats {
            state,
            permitted: read(&counters.permitted),
            rejected: read(&counters.rejected),
            successes: read(&counters.successes)
                .wrapping_add(recorded.saturating_sub(recorded_failures)),
            failures: read(&counters.failures).wrapping_add(recorded_failures),
            ignored: read(&counters.ignored),
            slow: read(&counters.slow),
            cancelled: read(&counters.cancelled),
            stale: read(&counters.stale),
            trips: read(&counters.trips),
            window_calls: tally.calls,
            failure_rate: tally.rate(tally.failures),
            slow_call_rate: tally.rate(tally.slow),
            consecutive_failures: self.consecutive.load(Relaxed),
            open_remaining: self.open_remaining(state),
        }
    }
}
