//! Each figure of a report against its target. A figure that the run gives no
//! ground for (no faults, no steady state, no base latency) is not judged.

use serde::Serialize;

use super::report::Report;
use super::scenario::Targets;

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

fn verdict(name: &str, target: String, measured: Option<(String, bool)>) -> Verdict {
    let (measured, passed) = match measured {
        Some((text, passed)) => (text, Some(passed)),
        None => ("not measured".to_owned(), None),
    };
    Verdict {
        name: name.into(),
        target,
        measured,
        passed,
    }
}

fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

/// Every verdict of `report` against `targets`.
pub fn judge(report: &Report, targets: &Targets) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    verdicts.push(verdict(
        "availability",
        format!(
            ">= {} while a provider is up",
            percent(targets.availability)
        ),
        report
            .while_one_up
            .availability
            .map(|a| (percent(a), a >= targets.availability)),
    ));
    let recovery_limit = targets.recovery.0.as_secs_f64() * 1000.0;
    let ended: Vec<_> = report
        .faults
        .iter()
        .filter(|f| f.recovery != "lasted to the end" && f.recovery != "interrupted")
        .collect();
    let unrecovered = ended.iter().filter(|f| f.recover_ms.is_none()).count();
    let worst = ended
        .iter()
        .filter_map(|f| f.recover_ms)
        .fold(None, |worst: Option<f64>, ms| {
            Some(worst.map_or(ms, |w| w.max(ms)))
        });
    verdicts.push(verdict(
        "recovery",
        format!("< {:.0} s after each fault", recovery_limit / 1000.0),
        (!ended.is_empty()).then(|| {
            let text = match (worst, unrecovered) {
                (_, n) if n > 0 => format!("{n} fault(s) not recovered before the run ended"),
                (Some(ms), _) => format!("worst {:.0} ms", ms),
                (None, _) => "none measured".into(),
            };
            (
                text,
                unrecovered == 0 && worst.is_none_or(|ms| ms < recovery_limit),
            )
        }),
    ));
    verdicts.push(verdict(
        "impact",
        format!("< {} of requests during faults", percent(targets.impact)),
        report.impact.as_ref().map(|i| {
            (
                format!("{} ({} of {})", percent(i.share), i.count, i.of),
                i.share < targets.impact,
            )
        }),
    ));
    verdicts.push(verdict(
        "fallback latency",
        format!(
            "p50 during failover <= steady p50 +{}",
            percent(targets.fallback_latency)
        ),
        report.latency.p50_ratio.map(|r| {
            (
                format!("{:+.1}%", (r - 1.0) * 100.0),
                r <= 1.0 + targets.fallback_latency,
            )
        }),
    ));
    verdicts.push(verdict(
        "degraded throughput",
        format!(">= {} of steady", percent(targets.degraded_throughput)),
        report
            .throughput
            .ratio
            .map(|r| (percent(r), r >= targets.degraded_throughput)),
    ));
    verdicts.push(verdict(
        "overhead",
        format!(
            "< {} added to the providers' p50",
            percent(targets.overhead)
        ),
        report
            .overhead
            .map(|o| (format!("{:+.1}%", o * 100.0), o < targets.overhead)),
    ));
    let fast_fail_limit = targets.fast_fail.0.as_secs_f64() * 1000.0;
    verdicts.push(verdict(
        "fast 503s",
        format!("p99 <= {fast_fail_limit:.0} ms while every provider is down"),
        report
            .fast_fail
            .as_ref()
            .and_then(|p| p.p99_ms)
            .map(|p99| (format!("p99 {p99:.0} ms"), p99 <= fast_fail_limit)),
    ));
    verdicts.push(verdict(
        "manual intervention",
        "0 requests".into(),
        Some((
            format!("{} requests", report.manual_interventions),
            report.manual_interventions == 0,
        )),
    ));
    verdicts
}
