//! `GET /api/report?window=1h`: availability, failovers, breaker trips, mean
//! times to detect and recover and degraded minutes over a recent window,
//! from the gateway's own bounded history.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use steadfast_config::{format_duration, parse_duration};
use steadfast_wire::clock::unix_millis;

use super::ApiError;
use crate::analytics::{MAX_WINDOW, Report};
use crate::state::AppState;

/// The window when none is given.
const DEFAULT_WINDOW: Duration = Duration::from_secs(3600);

/// The query string.
#[derive(Debug, Deserialize)]
pub(super) struct ReportQuery {
    /// How far back, e.g. `15m`, `1h`, `24h`.
    window: Option<String>,
}

/// `GET /api/report`.
pub(super) async fn report(
    State(app): State<Arc<AppState>>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<Report>, ApiError> {
    let window = match query.window.as_deref() {
        None => DEFAULT_WINDOW,
        Some(text) => {
            parse_window(text).map_err(|why| ApiError::bad_request("invalid_window", why))?
        }
    };
    Ok(Json(app.analytics.report(window, unix_millis())))
}

/// A window between a second and the history kept.
fn parse_window(text: &str) -> Result<Duration, String> {
    let window = parse_duration(text).map_err(|why| format!("window: {why}"))?;
    if window < Duration::from_secs(1) || window > MAX_WINDOW {
        return Err(format!(
            "window: {text} is out of range: give 1s to {}",
            format_duration(MAX_WINDOW)
        ));
    }
    Ok(window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_durations_within_the_history() {
        assert_eq!(parse_window("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_window("24h"), Ok(MAX_WINDOW));
        let too_long = parse_window("25h").unwrap_err();
        assert!(
            too_long.contains("out of range: give 1s to 24h"),
            "{too_long}"
        );
        assert!(parse_window("soon").unwrap_err().starts_with("window: "));
        assert!(parse_window("0s").is_err());
    }
}
