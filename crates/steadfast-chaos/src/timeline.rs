//! The fault timeline as a pure function of time: what each provider does at
//! `t`, the fault windows (for detection and recovery times) and the phases
//! (for per-phase figures). Random faults are drawn from the seed and the slot
//! number, so the same seed gives the same faults whenever they are asked for.

use std::collections::BTreeMap;
use std::time::Duration;

use steadfast::rng::Rng;
use steadfast_mock::{Faults, Mode};

use super::scenario::{FaultKind, FaultStep, Scenario};

/// One fault on one provider over a span of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The provider.
    pub provider: String,
    /// What went wrong.
    pub label: String,
    /// Whether the provider was down (not merely slow).
    pub down: bool,
    /// Start, from the run's start.
    pub start: Duration,
    /// End (the run's end if the fault lasted to it).
    pub end: Duration,
}

/// A span of the run with one set of active faults.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// `steady`, or the active faults.
    pub name: String,
    /// Start, from the run's start.
    pub start: Duration,
    /// End.
    pub end: Duration,
    /// Whether any fault is active.
    pub faulted: bool,
    /// Whether every provider is down.
    pub all_down: bool,
}

/// The scenario's faults over time.
#[derive(Debug, Clone)]
pub struct Timeline {
    steps: Vec<FaultStep>,
    providers: Vec<String>,
    base: BTreeMap<String, Faults>,
    seed: u64,
    duration: Duration,
}

/// The kinds a `random` step picks from.
const RANDOM_KINDS: [FaultKind; 5] = [
    FaultKind::Error {
        status: 500,
        rate: 1.0,
    },
    FaultKind::Refuse {},
    FaultKind::Hang {},
    FaultKind::RateLimit {
        retry_after: steadfast_config::ConfigDuration::secs(1),
    },
    FaultKind::Latency {
        added: steadfast_config::ConfigDuration::millis(400),
    },
];

impl Timeline {
    /// The timeline of `scenario` over providers with `base` settings.
    pub fn new(scenario: &Scenario, base: BTreeMap<String, Faults>) -> Timeline {
        Timeline {
            steps: scenario.faults.clone(),
            providers: base.keys().cloned().collect(),
            base,
            seed: scenario.seed,
            duration: scenario.duration.0,
        }
    }

    /// The providers, by name.
    pub fn providers(&self) -> &[String] {
        &self.providers
    }

    /// The settings of `provider` when no fault is active.
    pub fn base(&self, provider: &str) -> Faults {
        self.base.get(provider).cloned().unwrap_or_default()
    }

    fn span(&self, step: &FaultStep) -> (Duration, Duration) {
        let end = step
            .lasts
            .map_or(self.duration, |lasts| step.at.0 + lasts.0);
        (step.at.0, end.min(self.duration))
    }

    fn covers(&self, step: &FaultStep, provider: &str) -> bool {
        step.target == "*" || step.target == provider
    }

    /// The random step's pick for `slot`: (provider index among its targets, kind).
    fn random_pick(&self, index: usize, slot: u64, targets: usize) -> (usize, &'static FaultKind) {
        let rng =
            Rng::with_seed(self.seed ^ ((index as u64) << 32) ^ slot.wrapping_mul(0x9E37_79B9));
        let provider = rng.below(targets as u64) as usize;
        let kind = &RANDOM_KINDS[rng.below(RANDOM_KINDS.len() as u64) as usize];
        (provider, kind)
    }

    fn step_targets(&self, step: &FaultStep) -> Vec<&String> {
        self.providers
            .iter()
            .filter(|p| self.covers(step, p))
            .collect()
    }

    /// The faults `provider` should have at `t`.
    pub fn faults_at(&self, provider: &str, t: Duration) -> Faults {
        let mut faults = self.base(provider);
        for (index, step) in self.steps.iter().enumerate() {
            let (start, end) = self.span(step);
            if t < start || t >= end || !self.covers(step, provider) {
                continue;
            }
            let into = t - start;
            match &step.fault {
                FaultKind::Random { every } => {
                    let slot = (into.as_nanos() / every.0.as_nanos().max(1)) as u64;
                    let targets = self.step_targets(step);
                    let (pick, kind) = self.random_pick(index, slot, targets.len());
                    if targets.get(pick).is_some_and(|p| *p == provider) {
                        apply(&mut faults, kind, into, end - start);
                    }
                }
                kind => apply(&mut faults, kind, into, end - start),
            }
        }
        faults
    }

    /// Every fault window, per provider (one per slot of a random step).
    pub fn windows(&self) -> Vec<Window> {
        let mut windows = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            let (start, end) = self.span(step);
            let targets = self.step_targets(step);
            if let FaultKind::Random { every } = &step.fault {
                let mut slot = 0u64;
                let mut at = start;
                while at < end {
                    let (pick, kind) = self.random_pick(index, slot, targets.len());
                    let until = (at + every.0).min(end);
                    if let Some(provider) = targets.get(pick) {
                        windows.push(Window {
                            provider: (*provider).clone(),
                            label: kind.label(),
                            down: kind.is_down(),
                            start: at,
                            end: until,
                        });
                    }
                    slot += 1;
                    at = until;
                }
                continue;
            }
            for provider in targets {
                windows.push(Window {
                    provider: provider.clone(),
                    label: step.fault.label(),
                    down: step.fault.is_down(),
                    start,
                    end,
                });
            }
        }
        windows.sort_by_key(|w| w.start);
        windows
    }

    /// Whether every provider is down at `t`.
    pub fn all_down(&self, t: Duration) -> bool {
        !self.providers.is_empty()
            && self
                .providers
                .iter()
                .all(|provider| self.down_at(provider, t))
    }

    /// Whether `provider` is down at `t` by a fault that is not random.
    pub fn down_at(&self, provider: &str, t: Duration) -> bool {
        self.steps.iter().any(|step| {
            let (start, end) = self.span(step);
            step.fault.is_down()
                && !matches!(step.fault, FaultKind::Random { .. })
                && self.covers(step, provider)
                && (start..end).contains(&t)
        })
    }

    /// The phases: spans between the steps' starts and ends.
    pub fn phases(&self) -> Vec<Phase> {
        let mut cuts = vec![Duration::ZERO, self.duration];
        for step in &self.steps {
            let (start, end) = self.span(step);
            cuts.extend([start, end]);
        }
        cuts.sort();
        cuts.dedup();
        let mut seen_fault = false;
        cuts.windows(2)
            .filter(|pair| pair[0] < pair[1])
            .map(|pair| {
                let (start, end) = (pair[0], pair[1]);
                let labels: Vec<String> = self
                    .steps
                    .iter()
                    .filter(|step| {
                        let (s, e) = self.span(step);
                        s <= start && end <= e
                    })
                    .map(|step| format!("{}: {}", step.target, step.fault.label()))
                    .collect();
                let faulted = !labels.is_empty();
                let name = match (faulted, seen_fault) {
                    (true, _) => labels.join(", "),
                    (false, false) => "steady".to_owned(),
                    (false, true) => "after faults".to_owned(),
                };
                seen_fault |= faulted;
                Phase {
                    name,
                    start,
                    end,
                    faulted,
                    all_down: self.all_down(start),
                }
            })
            .collect()
    }
}

/// Applies `kind`, `into` its step of length `length`, to `faults`.
fn apply(faults: &mut Faults, kind: &FaultKind, into: Duration, length: Duration) {
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    match kind {
        FaultKind::Error { status, rate } if *rate >= 1.0 => {
            faults.mode = Mode::Error;
            faults.status = *status;
        }
        FaultKind::Error { rate, .. } => faults.fail_rate = *rate,
        FaultKind::Latency { added } => faults.latency_ms += millis(added.0),
        FaultKind::Hang {} => faults.mode = Mode::Hang,
        FaultKind::Refuse {} => faults.mode = Mode::Refuse,
        FaultKind::RateLimit { retry_after } => {
            faults.mode = Mode::RateLimit;
            faults.retry_after = retry_after.0.as_secs_f64().ceil().max(1.0) as u64;
        }
        FaultKind::CutStream { after_chunks } => {
            faults.mode = Mode::CutStream;
            faults.cut_after = *after_chunks;
        }
        FaultKind::Flap { every } => {
            if (into.as_nanos() / every.0.as_nanos().max(1)) % 2 == 0 {
                faults.mode = Mode::Error;
                faults.status = 503;
            }
        }
        FaultKind::SlowRecovery { added } => {
            let left = 1.0 - into.as_secs_f64() / length.as_secs_f64().max(1e-3);
            faults.latency_ms += millis(added.0.mul_f64(left.clamp(0.0, 1.0)));
        }
        FaultKind::Random { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(faults: &str) -> Timeline {
        let text = format!(
            "name: t\nseed: 7\nduration: 10s\ntraffic: {{ rate: 1, routes: [chat] }}\n\
             mocks: {{ a: {{}}, b: {{}} }}\ngateway: {{ config: {{}} }}\nfaults:\n{faults}"
        );
        let scenario = Scenario::parse(&text).unwrap();
        let base = ["a", "b"].map(|p| (p.to_owned(), Faults::default())).into();
        Timeline::new(&scenario, base)
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn flapping_and_slow_recovery_follow_the_clock() {
        let t = timeline(
            "  - { target: a, at: 2s, for: 4s, fault: { kind: flap, every: 1s } }\n\
             \x20 - { target: b, at: 2s, for: 4s, fault: { kind: slow_recovery, added: 1s } }\n",
        );
        assert_eq!(t.faults_at("a", secs(1.0)).mode, Mode::Ok);
        assert_eq!(t.faults_at("a", secs(2.5)).mode, Mode::Error);
        assert_eq!(t.faults_at("a", secs(3.5)).mode, Mode::Ok);
        assert_eq!(t.faults_at("a", secs(4.5)).mode, Mode::Error);
        assert_eq!(t.faults_at("b", secs(2.0)).latency_ms, 1000);
        assert_eq!(t.faults_at("b", secs(4.0)).latency_ms, 500);
        assert_eq!(t.faults_at("b", secs(6.0)).latency_ms, 0);
        let names: Vec<String> = t.phases().into_iter().map(|p| p.name).collect();
        assert_eq!(names[0], "steady");
        assert_eq!(names[2], "after faults");
    }

    #[test]
    fn random_faults_repeat_with_the_seed_and_hit_one_provider_at_a_time() {
        let t = timeline("  - { target: '*', at: 0s, fault: { kind: random, every: 1s } }\n");
        let again = timeline("  - { target: '*', at: 0s, fault: { kind: random, every: 1s } }\n");
        assert_eq!(t.windows(), again.windows());
        assert_eq!(t.windows().len(), 10);
        for window in t.windows() {
            let other = if window.provider == "a" { "b" } else { "a" };
            assert_eq!(
                t.faults_at(other, window.start + secs(0.5)),
                Faults::default()
            );
        }
        assert!(!t.all_down(secs(3.0)));
    }

    #[test]
    fn every_provider_down_is_seen() {
        let t = timeline("  - { target: '*', at: 2s, for: 3s, fault: { kind: refuse } }\n");
        assert!(t.all_down(secs(3.0)) && !t.all_down(secs(6.0)));
        assert!(t.phases()[1].all_down);
        assert_eq!(t.windows().len(), 2);
    }
}
