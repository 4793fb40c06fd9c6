//! The resilience report: what clients saw overall and per phase, and how
//! the gateway met each fault (time to detect, time to recover), with latency,
//! throughput and resource figures, judged against the scenario's targets.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::figures::{Percentiles, Share, Stats, secs, throughput};
use super::observe::Observer;
use super::process::Usage;
use super::record::{AnswerSource, Sample};
use super::recovery::{FaultReport, fault_report, outages};
use super::scenario::Scenario;
use super::timeline::{Phase, Timeline};

/// Figures of one phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// `steady`, `after faults`, or the active faults.
    pub name: String,
    /// Start, in seconds from the run's start.
    pub start_s: f64,
    /// End, in seconds.
    pub end_s: f64,
    /// What clients saw.
    pub stats: Stats,
    /// Successful answers per second.
    pub throughput_rps: Option<f64>,
}

/// Latency in steady state and during failover.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    /// Successful requests started with no fault active.
    pub steady: Percentiles,
    /// Successful requests started during faults, with a provider up.
    pub failover: Percentiles,
    /// Failover p50 over steady p50.
    pub p50_ratio: Option<f64>,
}

/// Successful answers per second in steady state and during faults.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputReport {
    /// No fault active.
    pub steady_rps: Option<f64>,
    /// Faults active, a provider up.
    pub degraded_rps: Option<f64>,
    /// What the steady traffic could get during faults from the capacity
    /// left: in each degraded phase the steady throughput or the capacity
    /// of the providers up, whichever is less, weighted by the phase's length.
    pub expected_rps: Option<f64>,
    /// Degraded over expected.
    pub ratio: Option<f64>,
}

/// How many answers came from where (see [`AnswerSource`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnswerCounts {
    /// Answered by a model, or not at all.
    pub model: usize,
    /// From the route's cache, without a call.
    pub cache: usize,
    /// From the route's cache after every target failed.
    pub stale: usize,
    /// The route's static last answer.
    pub static_answers: usize,
    /// Refused by priority shedding.
    pub shed: usize,
}

impl AnswerCounts {
    fn of(samples: &[Sample]) -> AnswerCounts {
        let mut counts = AnswerCounts::default();
        for sample in samples {
            let count = match sample.answer {
                AnswerSource::Model => &mut counts.model,
                AnswerSource::Cache => &mut counts.cache,
                AnswerSource::Stale => &mut counts.stale,
                AnswerSource::Static => &mut counts.static_answers,
                AnswerSource::Shed => &mut counts.shed,
            };
            *count += 1;
        }
        counts
    }
}

/// What one class of clients saw.
#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    /// Every request of the class.
    pub overall: Stats,
    /// Its requests while at least one provider was up.
    pub while_one_up: Stats,
    /// Its requests refused by priority shedding.
    pub shed: usize,
}

/// One figure against its target.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The figure.
    pub name: String,
    /// The target, in words.
    pub target: String,
    /// What was measured, in words.
    pub measured: String,
    /// Met, missed, or not judged (`None`).
    pub passed: Option<bool>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// `in-process` or `remote`.
    pub mode: String,
    /// The seed.
    pub seed: u64,
    /// The run's length in seconds.
    pub duration_s: f64,
    /// Every request.
    pub overall: Stats,
    /// Requests while at least one provider was up: those in flight at any
    /// moment from every provider going down to their recovery are excluded.
    pub while_one_up: Stats,
    /// Share of requests in flight at any moment of a fault (with a provider
    /// up) that saw an error or a retry.
    pub impact: Option<Share>,
    /// Per phase.
    pub phases: Vec<PhaseReport>,
    /// Per fault.
    pub faults: Vec<FaultReport>,
    /// Latency.
    pub latency: LatencyReport,
    /// Throughput.
    pub throughput: ThroughputReport,
    /// Latency of error answers while every provider was down.
    pub fast_fail: Option<Percentiles>,
    /// Requests that needed an admin call (scenarios make none).
    pub manual_interventions: u64,
    /// Where answers came from: models, the cache, stale, static; and shed requests.
    pub answers: AnswerCounts,
    /// Per class of clients (`traffic.clients`).
    pub classes: BTreeMap<String, ClassReport>,
    /// Repeated requests (a route and prompt answered before) sent while
    /// every provider was down, if any were.
    pub repeats_while_down: Option<Stats>,
    /// Latency the gateway added to plain (not streamed) requests at p50 in
    /// steady state, as a share of the providers' own latency.
    pub overhead: Option<f64>,
    /// CPU and memory (in-process only).
    pub process: Option<Usage>,
    /// Remarks on the run.
    pub notes: Vec<String>,
    /// Each figure against its target (see [`judge`](crate::judge)).
    pub verdicts: Vec<Verdict>,
    /// Whether every judged target was met.
    pub passed: bool,
}

/// What a report is made from.
pub struct Inputs<'a> {
    /// The scenario as run.
    pub scenario: &'a Scenario,
    /// Its timeline.
    pub timeline: &'a Timeline,
    /// Every request.
    pub samples: &'a [Sample],
    /// The gateway's target states.
    pub observer: &'a Observer,
    /// Whether the gateway ran in-process.
    pub in_process: bool,
    /// CPU and memory.
    pub usage: Option<Usage>,
    /// Remarks gathered during the run.
    pub notes: Vec<String>,
}

/// The answers per second the steady traffic could get during the degraded
/// phases: in each, the steady throughput or the capacity left, whichever is
/// less, weighted by the phase's length. The capacity left is, over the
/// providers not down in the phase, each one's concurrency through the
/// gateway (its targets' limits from `/api/status`) over its latency then;
/// with a provider unbounded (no limit, or no latency) it is the steady
/// throughput itself.
fn expected_rps(steady: f64, phases: &[&Phase], timeline: &Timeline, observer: &Observer) -> f64 {
    let length = |p: &Phase| (p.end - p.start).as_secs_f64();
    let total: f64 = phases.iter().map(|p| length(p)).sum();
    if total <= 0.0 {
        return steady;
    }
    let carried: f64 = phases
        .iter()
        .map(|phase| {
            let capacity = capacity_left(phase, timeline, observer).unwrap_or(f64::INFINITY);
            capacity.min(steady) * length(phase)
        })
        .sum();
    carried / total
}

/// Answers per second the providers up in `phase` can give through the
/// gateway; none when unbounded.
fn capacity_left(phase: &Phase, timeline: &Timeline, observer: &Observer) -> Option<f64> {
    let middle = phase.start + (phase.end - phase.start) / 2;
    timeline
        .providers()
        .iter()
        .filter(|provider| !timeline.down_at(provider, middle))
        .try_fold(0.0, |sum, provider| {
            let concurrency = observer.provider_concurrency(provider)?;
            let latency_ms = timeline.faults_at(provider, middle).latency_ms;
            (latency_ms > 0).then(|| sum + concurrency as f64 * 1000.0 / latency_ms as f64)
        })
}

/// Builds the report.
pub fn build(inputs: Inputs<'_>) -> Report {
    let Inputs {
        scenario,
        timeline,
        samples,
        observer,
        ..
    } = inputs;
    let duration = scenario.duration.0;
    let provider_of: BTreeMap<String, Option<String>> = samples
        .iter()
        .filter_map(|s| s.target.clone())
        .map(|t| {
            let provider = observer.provider_of(&t);
            (t, provider)
        })
        .collect();
    let served_by = |s: &Sample, provider: &str| {
        s.ok && s
            .target
            .as_ref()
            .and_then(|t| provider_of.get(t))
            .is_some_and(|p| p.as_deref() == Some(provider))
    };
    let windows = timeline.windows();
    let faults: Vec<FaultReport> = windows
        .iter()
        .map(|w| fault_report(w, &windows, duration, observer, samples, &served_by))
        .collect();
    let phases = timeline.phases();
    let outages = outages(&phases, &faults, duration);
    let in_outage = |s: &Sample| outages.iter().any(|(a, b)| s.start < *b && s.end() > *a);
    let in_phase = |s: &Sample, pick: &dyn Fn(&Phase) -> bool| {
        phases
            .iter()
            .any(|p| pick(p) && (p.start..p.end).contains(&s.start))
    };
    let steady = |p: &Phase| !p.faulted;
    let degraded = |p: &Phase| p.faulted && !p.all_down;
    let in_window = |s: &Sample| windows.iter().any(|w| s.start < w.end && s.end() > w.start);
    let during: Vec<&Sample> = samples
        .iter()
        .filter(|s| in_window(s) && !in_outage(s))
        .collect();
    let impact = Share::new(during.iter().filter(|s| s.impacted()).count(), during.len());
    let steady_latency = Percentiles::of(samples.iter().filter(|s| s.ok && in_phase(s, &steady)));
    let failover = Percentiles::of(samples.iter().filter(|s| s.ok && in_phase(s, &degraded)));
    let p50_ratio = steady_latency
        .p50_ms
        .zip(failover.p50_ms)
        .map(|(s, f)| f / s);
    let spans = |pick: &dyn Fn(&Phase) -> bool| -> Vec<(Duration, Duration)> {
        phases
            .iter()
            .filter(|p| pick(p))
            .map(|p| (p.start, p.end))
            .collect()
    };
    let steady_rps = throughput(samples, &spans(&steady));
    let degraded_rps = throughput(samples, &spans(&degraded));
    let degraded_phases: Vec<&Phase> = phases.iter().filter(|p| degraded(p)).collect();
    let expected_rps =
        steady_rps.map(|steady| expected_rps(steady, &degraded_phases, timeline, observer));
    let fast_fail = phases.iter().any(|p| p.all_down).then(|| {
        Percentiles::of(
            samples
                .iter()
                .filter(|s| !s.ok && in_phase(s, &|p: &Phase| p.all_down)),
        )
    });
    let base = timeline
        .providers()
        .iter()
        .map(|p| timeline.base(p).latency_ms)
        .min()
        .unwrap_or(0);
    let plain = Percentiles::of(
        samples
            .iter()
            .filter(|s| s.ok && !s.stream && in_phase(s, &steady)),
    );
    let overhead = plain
        .p50_ms
        .filter(|_| base > 0)
        .map(|p50| (p50 - base as f64) / base as f64);
    let all_down = |p: &Phase| p.all_down;
    let repeats: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.repeat && in_phase(s, &all_down))
        .collect();
    let repeats_while_down = (!repeats.is_empty()).then(|| Stats::of(repeats));
    let mut classes = BTreeMap::new();
    for class in samples.iter().filter_map(|s| s.class.as_deref()) {
        if classes.contains_key(class) {
            continue;
        }
        let of_class = || {
            samples
                .iter()
                .filter(move |s| s.class.as_deref() == Some(class))
        };
        classes.insert(
            class.to_owned(),
            ClassReport {
                overall: Stats::of(of_class()),
                while_one_up: Stats::of(of_class().filter(|s| !in_outage(s))),
                shed: of_class()
                    .filter(|s| s.answer == AnswerSource::Shed)
                    .count(),
            },
        );
    }
    let mut notes = inputs.notes;
    if !inputs.in_process {
        notes.push("remote gateway: its CPU and memory are not measured here".into());
    }
    Report {
        scenario: scenario.name.clone(),
        mode: if inputs.in_process {
            "in-process"
        } else {
            "remote"
        }
        .into(),
        seed: scenario.seed,
        duration_s: secs(duration),
        overall: Stats::of(samples),
        while_one_up: Stats::of(samples.iter().filter(|s| !in_outage(s))),
        impact,
        phases: phases
            .iter()
            .map(|p| PhaseReport {
                name: p.name.clone(),
                start_s: secs(p.start),
                end_s: secs(p.end),
                stats: Stats::of(
                    samples
                        .iter()
                        .filter(|s| (p.start..p.end).contains(&s.start)),
                ),
                throughput_rps: throughput(samples, &[(p.start, p.end)]),
            })
            .collect(),
        faults,
        latency: LatencyReport {
            steady: steady_latency,
            failover,
            p50_ratio,
        },
        throughput: ThroughputReport {
            steady_rps,
            degraded_rps,
            expected_rps,
            ratio: expected_rps
                .zip(degraded_rps)
                .filter(|(e, _)| *e > 0.0)
                .map(|(e, d)| d / e),
        },
        fast_fail,
        manual_interventions: 0,
        answers: AnswerCounts::of(samples),
        classes,
        repeats_while_down,
        overhead,
        process: inputs.usage,
        notes,
        verdicts: Vec::new(),
        passed: true,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;
    use steadfast_mock::Faults;

    use super::*;
    use crate::scenario::Scenario;

    /// Providers `a` and `b` answering in 500 ms, `b` down from 10 s to
    /// 20 s and slowed to 1 s from 20 s to 30 s.
    fn timeline() -> Timeline {
        let text = "name: t\nseed: 7\nduration: 40s\ntraffic: { rate: 1, routes: [chat] }\n\
             mocks: { a: {}, b: {} }\ngateway: { config: {} }\nfaults:\n\
             \x20 - { target: b, at: 10s, for: 10s, fault: { kind: refuse } }\n\
             \x20 - { target: b, at: 20s, for: 10s, fault: { kind: latency, added: 500ms } }\n";
        let scenario = Scenario::parse(text).unwrap();
        let base: BTreeMap<String, Faults> = ["a", "b"]
            .map(|p| {
                let faults = Faults {
                    latency_ms: 500,
                    ..Faults::default()
                };
                (p.to_owned(), faults)
            })
            .into();
        Timeline::new(&scenario, base)
    }

    fn observer(limits: [serde_json::Value; 2]) -> Observer {
        let observer = Observer::default();
        let targets: Vec<_> = ["a", "b"]
            .iter()
            .zip(limits)
            .map(|(p, limit)| json!({"name": format!("m{p}"), "provider": p, "concurrency": {"limit": limit}}))
            .collect();
        observer.note(Duration::ZERO, &json!({ "targets": targets }));
        observer
    }

    #[test]
    fn throughput_is_expected_of_the_capacity_left_and_never_above_steady() {
        let timeline = timeline();
        let phases = timeline.phases();
        let degraded: Vec<&Phase> = phases.iter().filter(|p| p.faulted).collect();
        assert_eq!(degraded.len(), 2);
        // 60 at a time in 500 ms each: 120 answers/s per provider.
        let limited = observer([json!(60), json!(60)]);
        assert_eq!(capacity_left(degraded[0], &timeline, &limited), Some(120.0));
        assert_eq!(capacity_left(degraded[1], &timeline, &limited), Some(180.0));
        // Steady traffic of 150/s: the first half of the faults carries 120,
        // the second all 150.
        let expected = expected_rps(150.0, &degraded, &timeline, &limited);
        assert!((expected - 135.0).abs() < 1e-9, "{expected}");
        // A provider without a limit: the steady throughput is expected.
        let unbounded = observer([json!(null), json!(60)]);
        assert_eq!(capacity_left(degraded[0], &timeline, &unbounded), None);
        assert_eq!(expected_rps(150.0, &degraded, &timeline, &unbounded), 150.0);
    }
}
