//! The default classification of HTTP answers from model providers, shared by
//! library users and the gateway.
//!
//! | answer | kind |
//! |---|---|
//! | 2xx, 3xx | success |
//! | 400, 413, 422 whose body says the context window was exceeded | [`ContextLength`](FailureKind::ContextLength) |
//! | other 400, 404, 413, 422 | [`InvalidRequest`](FailureKind::InvalidRequest) |
//! | 401, 403 | [`Misconfigured`](FailureKind::Misconfigured) |
//! | 408 | [`Timeout`](FailureKind::Timeout) |
//! | 429 (with `Retry-After`) | [`RateLimited`](FailureKind::RateLimited) |
//! | 503, 529 (with `Retry-After`) | [`Overloaded`](FailureKind::Overloaded) |
//! | 504 | [`Timeout`](FailureKind::Timeout) |
//! | other 5xx | [`Transient`](FailureKind::Transient) |
//! | other 4xx | [`Fatal`](FailureKind::Fatal) |
//! | connection refused, reset, DNS | [`Transient`](FailureKind::Transient) (see [`connection_failure`]) |

use std::time::{Duration, SystemTime};

use crate::{Failure, FailureKind, Outcome};

/// Phrases providers use when a prompt exceeds the model's context window
/// (OpenAI's `context_length_exceeded` code and message, Anthropic's "prompt is
/// too long", vLLM and Ollama wordings). Matched case-insensitively.
const CONTEXT_LENGTH_MARKERS: [&str; 5] = [
    "context_length_exceeded",
    "maximum context length",
    "prompt is too long",
    "context window",
    "too many tokens",
];

/// Classifies an HTTP answer from its status code, its `Retry-After` header (if
/// any) and the start of its body (used only to recognise context-length errors).
pub fn classify_status(status: u16, retry_after: Option<&str>, body: &[u8]) -> Outcome {
    let retry_after = || retry_after.and_then(|value| parse_retry_after(value, SystemTime::now()));
    let kind = match status {
        200..=399 => return Outcome::Success,
        400 | 413 | 422 if mentions_context_length(body) => FailureKind::ContextLength,
        400 | 404 | 413 | 422 => FailureKind::InvalidRequest,
        401 | 403 => FailureKind::Misconfigured,
        408 | 504 => FailureKind::Timeout,
        429 => return Failure::rate_limited(retry_after()).into(),
        503 | 529 => {
            return Failure::with_retry_after(FailureKind::Overloaded, retry_after()).into();
        }
        500..=599 => FailureKind::Transient,
        _ => FailureKind::Fatal,
    };
    Outcome::Failure(Failure::new(kind))
}

/// The failure for a request that never got an answer: refused or reset
/// connections, DNS errors, broken bodies.
pub const fn connection_failure() -> Failure {
    Failure::new(FailureKind::Transient)
}

/// Whether an error body says the request exceeded the model's context window.
pub fn mentions_context_length(body: &[u8]) -> bool {
    let head = &body[..body.len().min(4096)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    CONTEXT_LENGTH_MARKERS
        .iter()
        .any(|marker| text.contains(marker))
}

/// Parses a `Retry-After` value: delay-seconds (`"120"`, fractions allowed as
/// some providers send them) or an HTTP-date, relative to `now`. A date in the
/// past gives zero; anything unparsable gives `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(feature = "http")]
mod typed {
    use super::{Outcome, classify_status};

    /// Classifies an [`http::StatusCode`] and its headers, reading `Retry-After`
    /// (and OpenAI's `retry-after-ms`). `body` is the start of the body, if read.
    pub fn classify_response(
        status: http::StatusCode,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Outcome {
        let millis = headers
            .get("retry-after-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|ms| format!("{}", ms / 1000.0));
        let retry_after = millis.or_else(|| {
            headers
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        classify_status(status.as_u16(), retry_after.as_deref(), body)
    }
}

#[cfg(feature = "http")]
pub use typed::classify_response;

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, body: &str) -> Option<FailureKind> {
        classify_status(status, None, body.as_bytes())
            .failure()
            .map(|f| f.kind)
    }

    #[test]
    fn status_table() {
        assert_eq!(kind(200, ""), None);
        assert_eq!(kind(400, "{}"), Some(FailureKind::InvalidRequest));
        assert_eq!(
            kind(
                400,
                r#"{"error":{"code":"context_length_exceeded","message":"This model's maximum context length is 8192 tokens"}}"#
            ),
            Some(FailureKind::ContextLength)
        );
        assert_eq!(
            kind(
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#
            ),
            Some(FailureKind::ContextLength)
        );
        assert_eq!(kind(401, ""), Some(FailureKind::Misconfigured));
        assert_eq!(kind(403, ""), Some(FailureKind::Misconfigured));
        assert_eq!(kind(408, ""), Some(FailureKind::Timeout));
        assert_eq!(kind(429, ""), Some(FailureKind::RateLimited));
        assert_eq!(kind(500, ""), Some(FailureKind::Transient));
        assert_eq!(kind(502, ""), Some(FailureKind::Transient));
        assert_eq!(kind(503, ""), Some(FailureKind::Overloaded));
        assert_eq!(kind(529, ""), Some(FailureKind::Overloaded));
        assert_eq!(kind(504, ""), Some(FailureKind::Timeout));
        assert_eq!(kind(418, ""), Some(FailureKind::Fatal));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 0.5 ", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
    }

    #[test]
    fn rate_limit_keeps_its_hint() {
        let outcome = classify_status(429, Some("3"), b"");
        assert_eq!(
            outcome.failure(),
            Some(Failure::rate_limited(Some(Duration::from_secs(3))))
        );
        let overloaded = classify_status(503, Some("1"), b"");
        assert_eq!(
            overloaded.failure().and_then(|f| f.retry_after),
            Some(Duration::from_secs(1))
        );
    }
}
