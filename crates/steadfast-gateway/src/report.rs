//! `steadfast report`: a running gateway's [`Report`] fetched over HTTP and
//! printed as a summary line and tables of routes, targets and the newest
//! incidents.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use steadfast_chaos::table::{self, Section, millis, percent};
use steadfast_config::format_duration;
use steadfast_server::analytics::ledger::Cause;
use steadfast_server::analytics::report::{IncidentReport, Report};

/// How long `steadfast report` waits for the gateway.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Asks the gateway at `base_url` for its report over `window` (e.g. `1h`).
pub async fn fetch(base_url: &str, window: &str) -> anyhow::Result<Report> {
    let endpoint = format!("{}/api/report", base_url.trim_end_matches('/'));
    let mut url =
        reqwest::Url::parse(&endpoint).with_context(|| format!("--url {base_url} is not a URL"))?;
    url.query_pairs_mut().append_pair("window", window);
    let response = reqwest::Client::new()
        .get(url.clone())
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("reading the answer of {url}"))?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(body);
        anyhow::bail!("{url} answered {status}: {message}");
    }
    serde_json::from_str(&body)
        .with_context(|| format!("{url} did not answer with a Steadfast report"))
}

/// How many incidents the table shows (the newest).
const SHOWN_INCIDENTS: usize = 20;

/// The report as plain-text tables.
pub fn table(report: &Report) -> String {
    let overall = &report.overall;
    let mut out = format!(
        "Steadfast report: last {}{}\n\n",
        format_duration(Duration::from_secs(report.window_s)),
        if report.covered_s + 60 < report.window_s {
            format!(
                " (history covers {})",
                format_duration(Duration::from_secs(report.covered_s))
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "  availability {} of {} requests, {} failed over, {} breaker trips, {} ejections",
        percent(overall.availability),
        overall.requests,
        overall.failovers,
        overall.breaker_trips,
        overall.ejections
    );
    let _ = writeln!(
        out,
        "  mean time to detect {}, to recover {}; {} degraded minutes, {} down",
        millis(overall.mttd_ms),
        millis(overall.mttr_ms),
        overall.degraded_minutes,
        overall.down_minutes
    );
    let degraded = &overall.degraded;
    if !degraded.is_empty() {
        let _ = writeln!(
            out,
            "  without a model: {} from the cache, {} stale, {} static answers; {} shed",
            degraded.cache_hits, degraded.stale, degraded.static_answers, degraded.shed
        );
    }
    out.push_str(&table::text(sections(report)));
    let shown = SHOWN_INCIDENTS.min(report.incidents.len());
    if report.incident_count > shown {
        let _ = writeln!(
            out,
            "\n  ({} incidents in the window; the newest {shown} shown)",
            report.incident_count
        );
    }
    out
}

fn sections(report: &Report) -> Vec<Section> {
    let routes = report
        .routes
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.requests.to_string(),
                percent(r.availability),
                r.errors.to_string(),
                r.failovers.to_string(),
                r.degraded.cache_hits.to_string(),
                r.degraded.stale.to_string(),
                r.degraded.static_answers.to_string(),
                r.degraded.shed.to_string(),
                r.degraded_minutes.to_string(),
                r.down_minutes.to_string(),
            ]
        })
        .collect();
    let targets = report
        .targets
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.attempts.to_string(),
                percent(t.availability),
                t.breaker_trips.to_string(),
                t.ejections.to_string(),
                format!("{} s", t.out_s),
                millis(t.mttd_ms),
                millis(t.mttr_ms),
            ]
        })
        .collect();
    let shown = report
        .incidents
        .iter()
        .skip(report.incidents.len().saturating_sub(SHOWN_INCIDENTS));
    let incidents: Vec<Vec<String>> = shown.map(incident_row).collect();
    let mut sections: Vec<Section> = vec![
        (
            "Routes",
            vec![
                "route",
                "requests",
                "availability",
                "errors",
                "failovers",
                "cached",
                "stale",
                "static",
                "shed",
                "degraded min",
                "down min",
            ],
            routes,
        ),
        (
            "Targets",
            vec![
                "target",
                "attempts",
                "success",
                "trips",
                "ejections",
                "out",
                "detect",
                "recover",
            ],
            targets,
        ),
    ];
    if !incidents.is_empty() {
        sections.push((
            "Incidents",
            vec!["target", "cause", "out at (UTC)", "detect", "recover"],
            incidents,
        ));
    }
    sections
}

fn incident_row(incident: &IncidentReport) -> Vec<String> {
    let as_ms = |v: Option<u64>| millis(v.map(|v| v as f64));
    vec![
        incident.target.clone(),
        match incident.cause {
            Cause::BreakerOpen => "breaker open",
            Cause::Unhealthy => "unhealthy",
        }
        .into(),
        clock(incident.out_at_ms),
        as_ms(incident.detect_ms),
        if incident.back_at_ms.is_some() {
            as_ms(incident.recover_ms)
        } else {
            "still out".into()
        },
    ]
}

/// `HH:MM:SS.mmm` of a Unix millisecond time, in UTC.
fn clock(unix_ms: u64) -> String {
    let day_ms = unix_ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use steadfast_server::analytics::ledger::{Ledger, RouteSecond, TargetSecond};
    use steadfast_server::analytics::report::build;

    use super::*;

    #[test]
    fn the_table_names_every_route_target_and_incident() {
        let mut ledger = Ledger::new(0);
        let (chat, gpt): (Arc<str>, Arc<str>) = ("chat".into(), "gpt".into());
        let route = RouteSecond {
            requests: 4,
            errors: 1,
            failovers: 2,
            degraded: steadfast_proxy::runtime::DegradedCounts {
                stale: 1,
                ..Default::default()
            },
            some_out: true,
            all_out: false,
        };
        let target = TargetSecond {
            attempts: 4,
            failures: 2,
            out: true,
        };
        ledger.second(1_000, [(&chat, route)], [(&gpt, target)]);
        ledger.taken_out(&gpt, Cause::BreakerOpen, 3_723_456, Some(3_723_000));
        let text = table(&build(&ledger, 3_600 * 2, 3_800_000));
        assert!(text.contains("last 2h"), "{text}");
        assert!(
            text.contains("without a model: 0 from the cache, 1 stale, 0 static answers; 0 shed"),
            "{text}"
        );
        assert!(
            text.contains("availability 75.00% of 4 requests, 2 failed over, 1 breaker trips"),
            "{text}"
        );
        assert!(text.contains("chat"), "{text}");
        assert!(text.contains("gpt "), "{text}");
        assert!(text.contains("01:02:03.456"), "{text}");
        assert!(text.contains("456 ms"), "{text}");
        assert!(text.contains("still out"), "{text}");
    }
}
