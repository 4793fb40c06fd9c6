//! How the gateway met each fault: time to detect (fault start to a target
//! of the provider taken out) and time to recover (fault end to its targets
//! admitted again and traffic back on it), and the outages when every
//! provider was down.

use std::time::Duration;

use serde::Serialize;

use super::figures::{millis, secs};
use super::observe::Observer;
use super::record::Sample;
use super::timeline::{Phase, Window};

/// How long before a fault a provider must have served traffic for its
/// recovery to wait for traffic back on it.
const SERVED_BEFORE: Duration = Duration::from_secs(2);

/// How the gateway met one fault.
#[derive(Debug, Clone, Serialize)]
pub struct FaultReport {
    /// The provider.
    pub provider: String,
    /// The fault.
    pub fault: String,
    /// Start, in seconds.
    pub start_s: f64,
    /// End, in seconds.
    pub end_s: f64,
    /// Fault start to a target of the provider taken out (breaker open,
    /// ejected or cooling down), in milliseconds.
    pub detect_ms: Option<f64>,
    /// Fault end to the provider's targets admitted again with closed
    /// breakers and, if it served traffic before, traffic back on it, in
    /// milliseconds.
    pub recover_ms: Option<f64>,
    /// `recovered`, `not recovered`, `lasted to the end` or `interrupted`
    /// (the next fault on the provider came first).
    pub recovery: String,
}

/// The detection and recovery of `window`, given every window of the run.
pub fn fault_report(
    window: &Window,
    windows: &[Window],
    duration: Duration,
    observer: &Observer,
    samples: &[Sample],
    served_by: &dyn Fn(&Sample, &str) -> bool,
) -> FaultReport {
    let provider = window.provider.as_str();
    let detect = observer.first_unavailable(provider, window.start, window.end);
    let next = windows
        .iter()
        .filter(|w| w.provider == window.provider && w.start >= window.end && w != &window)
        .map(|w| w.start)
        .min();
    let limit = next.unwrap_or(duration);
    let served_before = samples.iter().any(|s| {
        s.start + SERVED_BEFORE >= window.start && s.start < window.start && served_by(s, provider)
    });
    let admitted = observer.first_available(provider, window.end, limit);
    let traffic = samples
        .iter()
        .filter(|s| s.start >= window.end && served_by(s, provider))
        .map(Sample::end)
        .min();
    let back = match (admitted, served_before) {
        (Some(at), false) => Some(at),
        (Some(at), true) => traffic.filter(|t| *t < limit).map(|t| t.max(at)),
        (None, _) => None,
    };
    let recovery = match back {
        _ if window.end >= duration => "lasted to the end",
        Some(_) => "recovered",
        None if next.is_some() => "interrupted",
        None => "not recovered",
    };
    FaultReport {
        provider: window.provider.clone(),
        fault: window.label.clone(),
        start_s: secs(window.start),
        end_s: secs(window.end),
        detect_ms: detect.map(|at| millis(at - window.start)),
        recover_ms: back
            .filter(|_| window.end < duration)
            .map(|at| millis(at - window.end)),
        recovery: recovery.into(),
    }
}

/// Spans when every provider was down, each until its providers recovered
/// (or the run ended).
pub fn outages(
    phases: &[Phase],
    faults: &[FaultReport],
    duration: Duration,
) -> Vec<(Duration, Duration)> {
    phases
        .iter()
        .filter(|p| p.all_down)
        .map(|p| {
            let recovered = faults
                .iter()
                .filter(|f| (f.end_s - secs(p.end)).abs() < 1e-6)
                .map(|f| {
                    f.recover_ms
                        .map(|ms| p.end + Duration::from_secs_f64(ms / 1000.0))
                })
                .try_fold(p.end, |latest, at| at.map(|at| latest.max(at)));
            (p.start, recovered.unwrap_or(duration))
        })
        .collect()
}
