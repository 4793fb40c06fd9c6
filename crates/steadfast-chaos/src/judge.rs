//! Each figure of a report against its target. A figure that the run gives no
//! ground for (no faults, no steady state, no base latency) is not judged.

use std::time::Duration;

use super::recovery::FaultReport;
use super::report::{Report, Verdict};
use super::scenario::Targets;

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

/// The recovery verdict. A fault that was not seen to recover is a miss only
/// if the run went on for the whole target after it ended: one that ended
/// nearer the end than that (common in short forms) is listed, not failed.
fn recovery(faults: &[FaultReport], duration_s: f64, limit: Duration) -> Verdict {
    let limit_ms = limit.as_secs_f64() * 1000.0;
    let ended: Vec<&FaultReport> = faults
        .iter()
        .filter(|f| f.recovery != "lasted to the end" && f.recovery != "interrupted")
        .collect();
    let observed_ms = |end_s: f64| (duration_s - end_s) * 1000.0;
    let (unrecovered, too_near): (Vec<&FaultReport>, Vec<&FaultReport>) = ended
        .iter()
        .copied()
        .filter(|f| f.recover_ms.is_none())
        .partition(|f| observed_ms(f.end_s) >= limit_ms);
    let worst = ended
        .iter()
        .filter_map(|f| f.recover_ms)
        .fold(None, |worst: Option<f64>, ms| {
            Some(worst.map_or(ms, |w| w.max(ms)))
        });
    let mut text = match (worst, unrecovered.len()) {
        (_, n) if n > 0 => format!("{n} fault(s) not recovered within the target"),
        (Some(ms), _) => format!("worst {ms:.0} ms"),
        (None, _) => "none measured".into(),
    };
    if let Some(last) = too_near
        .iter()
        .map(|f| observed_ms(f.end_s))
        .reduce(f64::min)
    {
        text.push_str(&format!(
            "; {} ended {:.1} s or less before the run end, not judged",
            too_near.len(),
            last / 1000.0
        ));
    }
    let judged = worst.is_some() || !unrecovered.is_empty();
    verdict(
        "recovery",
        format!("< {:.0} s after each fault", limit_ms / 1000.0),
        judged.then(|| {
            (
                text,
                unrecovered.is_empty() && worst.is_none_or(|ms| ms < limit_ms),
            )
        }),
    )
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
    verdicts.push(recovery(
        &report.faults,
        report.duration_s,
        targets.recovery.0,
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
        format!(
            ">= {} of min(steady, capacity left)",
            percent(targets.degraded_throughput)
        ),
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
    for (class, least) in &targets.classes {
        let stats = report.classes.get(class).map(|c| &c.while_one_up);
        verdicts.push(verdict(
            &format!("availability of {class}"),
            format!(">= {} while a provider is up", percent(*least)),
            stats.and_then(|s| s.availability).map(|a| {
                let of = stats.map_or(0, |s| s.requests);
                (format!("{} of {of}", percent(a)), a >= *least)
            }),
        ));
    }
    if let Some(least) = targets.repeats_while_down {
        let stats = report.repeats_while_down.as_ref();
        verdicts.push(verdict(
            "repeats while down",
            format!(
                ">= {} of repeated requests while every provider is down",
                percent(least)
            ),
            stats
                .and_then(|s| s.availability.map(|a| (a, s.requests)))
                .map(|(a, of)| (format!("{} of {of}", percent(a)), a >= least)),
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(end_s: f64, recover_ms: Option<f64>) -> FaultReport {
        FaultReport {
            provider: "p0".into(),
            fault: "error 500".into(),
            start_s: end_s - 1.0,
            end_s,
            detect_ms: Some(50.0),
            recover_ms,
            recovery: if recover_ms.is_some() {
                "recovered"
            } else {
                "not recovered"
            }
            .into(),
        }
    }

    const LIMIT: Duration = Duration::from_secs(30);

    #[test]
    fn a_fault_not_recovered_for_the_whole_target_is_a_miss() {
        let v = recovery(&[fault(10.0, Some(400.0)), fault(20.0, None)], 60.0, LIMIT);
        assert_eq!(v.passed, Some(false), "{v:?}");
        assert!(v.measured.contains("1 fault(s) not recovered"), "{v:?}");
    }

    #[test]
    fn a_slow_recovery_is_a_miss() {
        let v = recovery(&[fault(10.0, Some(31_000.0))], 60.0, LIMIT);
        assert_eq!(v.passed, Some(false), "{v:?}");
    }

    #[test]
    fn a_fault_ending_too_near_the_run_end_is_listed_not_failed() {
        let v = recovery(&[fault(2.0, Some(400.0)), fault(4.5, None)], 6.0, LIMIT);
        assert_eq!(v.passed, Some(true), "{v:?}");
        assert!(v.measured.contains("worst 400 ms"), "{v:?}");
        assert!(v.measured.contains("1 ended 1.5 s"), "{v:?}");
    }

    #[test]
    fn only_unjudgeable_faults_give_no_verdict() {
        let v = recovery(&[fault(4.5, None)], 6.0, LIMIT);
        assert_eq!(v.passed, None, "{v:?}");
    }
}
