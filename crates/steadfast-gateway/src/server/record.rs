//! The record of a finished request, made in one place: its metrics (through
//! the route's cached series) and its log line.

use std::time::Duration;

use tracing::Span;

use crate::proxy::engine::{self, Attempt, AttemptResult, Failed, Served};
use crate::runtime::Route;
use crate::telemetry::Outcome;

/// Counts and logs a request that `route` ended with `result` after
/// `latency` (for a stream: at its first token), and records the outcome on
/// the request's trace `span`.
pub(super) fn request<T>(
    route: &Route,
    result: &Result<Served<T>, Failed>,
    latency: Duration,
    stream: bool,
    request_id: &str,
    span: &Span,
) {
    let outcome = Outcome::of(result);
    let attempts = match result {
        Ok(served) => &served.attempts,
        Err(failed) => &failed.attempts,
    };
    let target = attempts
        .iter()
        .rev()
        .find(|a| {
            matches!(
                a.result,
                AttemptResult::Served | AttemptResult::Failed { .. }
            )
        })
        .map(|a| &*a.target);
    route.metrics.request(target, outcome, latency, stream);
    let latency_ms = latency.as_secs_f64() * 1000.0;
    let (route, target, sent) = (
        &*route.name,
        target.unwrap_or("none"),
        engine::sent(attempts),
    );
    let outcome = outcome.as_str();
    span.record("outcome", outcome);
    span.record("target", target);
    span.record("attempts", sent);
    if result.is_err() {
        span.record("otel.status_code", "ERROR");
    }
    if result.is_ok() {
        tracing::info!(
            request_id,
            route,
            target,
            attempts = sent,
            outcome,
            stream,
            latency_ms,
            "request"
        );
    } else {
        let detail = summary(attempts);
        tracing::warn!(request_id, route, target, attempts = sent, outcome, stream, latency_ms, %detail, "request");
    }
}

/// "gpt: overloaded; claude: skipped (breaker_open)".
pub(super) fn summary(attempts: &[Attempt]) -> String {
    let parts: Vec<String> = attempts
        .iter()
        .map(|attempt| match attempt.result {
            AttemptResult::Served => format!("{}: served", attempt.target),
            AttemptResult::Failed { kind } => format!("{}: {kind}", attempt.target),
            AttemptResult::Skipped { reason } => {
                format!("{}: skipped ({})", attempt.target, reason.as_str())
            }
            AttemptResult::Cancelled => format!("{}: cancelled", attempt.target),
        })
        .collect();
    if parts.is_empty() {
        "No target was tried.".into()
    } else {
        format!("Attempts: {}.", parts.join("; "))
    }
}
