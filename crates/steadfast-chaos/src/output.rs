//! The report as a terminal table, as Markdown and as JSON, and written into
//! the output folder. The table and the Markdown share one set of rows.

use std::fmt::Write as _;
use std::path::Path;

use super::report::Report;
use crate::table::{self, Section, millis as ms, percent as pct};

fn rps(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.1}/s"))
}

/// The report's sections.
fn sections(report: &Report) -> Vec<Section> {
    let phases = report
        .phases
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                format!("{:.1}-{:.1} s", p.start_s, p.end_s),
                p.stats.requests.to_string(),
                pct(p.stats.availability),
                pct(p.stats.error_rate),
                ms(p.stats.latency.p50_ms),
                ms(p.stats.latency.p99_ms),
                rps(p.throughput_rps),
            ]
        })
        .collect();
    let faults = report
        .faults
        .iter()
        .map(|f| {
            vec![
                f.provider.clone(),
                f.fault.clone(),
                format!("{:.1}-{:.1} s", f.start_s, f.end_s),
                ms(f.detect_ms),
                ms(f.recover_ms),
                f.recovery.clone(),
            ]
        })
        .collect();
    let (steady, failover) = (&report.latency.steady, &report.latency.failover);
    let latency = vec![
        vec![
            "steady".into(),
            steady.count.to_string(),
            ms(steady.p50_ms),
            ms(steady.p95_ms),
            ms(steady.p99_ms),
        ],
        vec![
            "failover".into(),
            failover.count.to_string(),
            ms(failover.p50_ms),
            ms(failover.p95_ms),
            ms(failover.p99_ms),
        ],
    ];
    let mut figures = vec![
        vec!["requests".into(), report.overall.requests.to_string()],
        vec![
            "availability (all)".into(),
            pct(report.overall.availability),
        ],
        vec![
            "client error rate (all)".into(),
            pct(report.overall.error_rate),
        ],
        vec![
            "throughput steady / degraded / expected".into(),
            format!(
                "{} / {} / {}",
                rps(report.throughput.steady_rps),
                rps(report.throughput.degraded_rps),
                rps(report.throughput.expected_rps)
            ),
        ],
    ];
    let answers = &report.answers;
    if answers.cache + answers.stale + answers.static_answers + answers.shed > 0 {
        figures.push(vec![
            "answers: model / cache / stale / static / shed".into(),
            format!(
                "{} / {} / {} / {} / {}",
                answers.model, answers.cache, answers.stale, answers.static_answers, answers.shed
            ),
        ]);
    }
    if let Some(repeats) = &report.repeats_while_down {
        figures.push(vec![
            "repeated requests while every provider is down".into(),
            format!("{} of {}", pct(repeats.availability), repeats.requests),
        ]);
    }
    for (class, seen) in &report.classes {
        figures.push(vec![
            format!("class {class}: availability (provider up) / shed"),
            format!(
                "{} of {} / {}",
                pct(seen.while_one_up.availability),
                seen.while_one_up.requests,
                seen.shed
            ),
        ]);
    }
    if let Some(usage) = &report.process {
        figures.push(vec![
            "CPU (cores)".into(),
            format!("{:.2}", usage.cpu_cores),
        ]);
        figures.push(vec![
            "peak memory".into(),
            format!("{:.1} MiB", usage.peak_memory_mib),
        ]);
    }
    let verdicts = report
        .verdicts
        .iter()
        .map(|v| {
            let mark = match v.passed {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "not judged",
            };
            vec![
                v.name.clone(),
                v.target.clone(),
                v.measured.clone(),
                mark.into(),
            ]
        })
        .collect();
    vec![
        (
            "Phases",
            vec![
                "phase",
                "time",
                "requests",
                "availability",
                "errors",
                "p50",
                "p99",
                "throughput",
            ],
            phases,
        ),
        (
            "Faults",
            vec![
                "provider",
                "fault",
                "time",
                "detected",
                "recovered",
                "recovery",
            ],
            faults,
        ),
        (
            "Latency",
            vec!["", "requests", "p50", "p95", "p99"],
            latency,
        ),
        ("Figures", vec!["figure", "value"], figures),
        (
            "Targets",
            vec!["figure", "target", "measured", "verdict"],
            verdicts,
        ),
    ]
}

fn title(report: &Report) -> String {
    format!(
        "Resilience report: {} ({}, seed {}, {:.1} s) - {}",
        report.scenario,
        report.mode,
        report.seed,
        report.duration_s,
        if report.passed {
            "every target met"
        } else {
            "targets MISSED"
        }
    )
}

/// The report as a plain-text table for a terminal.
pub fn table(report: &Report) -> String {
    let mut out = format!("{}\n", title(report));
    out.push_str(&table::text(sections(report)));
    for note in &report.notes {
        let _ = writeln!(out, "\nnote: {note}");
    }
    out
}

/// The report as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = format!("# {}\n", title(report));
    out.push_str(&table::markdown(sections(report)));
    for note in &report.notes {
        let _ = writeln!(out, "\n> {note}");
    }
    out
}

/// Writes `report.json` and `report.md` into `dir`.
pub fn write(report: &Report, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), json)?;
    std::fs::write(dir.join("report.md"), markdown(report))
}
