//! The default classification of HTTP answers from model providers, shared by
//! library users and the gateway.
//!
//! | answer | kind |
//! |---|---|
//! | 2xx, 3xx | success |
//! | 400, 413, 422, 500 whose body says the context window was exceeded | [`ContextLength`](FailureKind::ContextLength) |
//! | other 400, 404, 413, 422 | [`InvalidRequest`](FailureKind::InvalidRequest) |
//! | 401, 403 | [`Misconfigured`](FailureKind::Misconfigured) |
//! | 408 | [`Timeout`](FailureKind::Timeout) |
//! | 429 whose body says the model is overloaded (TGI) | [`Overloaded`](FailureKind::Overloaded) |
//! | other 429 (with `Retry-After`) | [`RateLimited`](FailureKind::RateLimited) |
//! | 503, 529 (with `Retry-After`) | [`Overloaded`](FailureKind::Overloaded) |
//! | 504 | [`Timeout`](FailureKind::Timeout) |
//! | 424 (TGI: generation failed), other 5xx | [`Transient`](FailureKind::Transient) |
//! | other 4xx | [`Fatal`](FailureKind::Fatal) |
//! | connection refused, reset, DNS | [`Transient`](FailureKind::Transient) (see [`connection_failure`]) |

use std::time::{Duration, SystemTime};

use crate::{Failure, FailureKind, Outcome};

/// Phrases providers use when a prompt exceeds the model's context window,
/// matched case-insensitively: OpenAI's `context_length_exceeded` code and
/// "maximum context length", Anthropic's "prompt is too long", vLLM's "too
/// long to fit into the model (context length …)", Ollama's "input exceeds
/// context length", llama.cpp's `exceed_context_size_error` ("exceeds the
/// available context size"), LM Studio's "context length of only …", TGI's
/// "`inputs` tokens + `max_new_tokens` must be <= …" and "`inputs` must have
/// less than … tokens", Bedrock's "input is too long", Gemini's "exceeds the
/// maximum number of tokens allowed".
const CONTEXT_LENGTH_MARKERS: [&str; 12] = [
    "context_length_exceeded",
    "maximum context length",
    "prompt is too long",
    "context window",
    "too many tokens",
    "context length",
    "context size",
    "too long to fit",
    "`max_new_tokens` must be",
    "`inputs` must have less than",
    "input is too long",
    "maximum number of tokens allowed",
];

/// Phrases of a 429 that means the server is overloaded rather than the
/// caller over a quota (TGI's "Model is overloaded").
const OVERLOAD_MARKERS: [&str; 2] = ["overloaded", "server busy"];

/// Classifies an HTTP answer from its status code, its `Retry-After` header (if
/// any) and the start of its body (used only to recognise context-length errors).
pub fn classify_status(status: u16, retry_after: Option<&str>, body: &[u8]) -> Outcome {
    let retry_after = || retry_after.and_then(|value| parse_retry_after(value, SystemTime::now()));
    let kind = match status {
        200..=399 => return Outcome::Success,
        400 | 413 | 422 | 500 if mentions_context_length(body) => FailureKind::ContextLength,
        400 | 404 | 413 | 422 => FailureKind::InvalidRequest,
        401 | 403 => FailureKind::Misconfigured,
        408 | 504 => FailureKind::Timeout,
        429 if mentions(body, &OVERLOAD_MARKERS) => {
            return Failure::with_retry_after(FailureKind::Overloaded, retry_after()).into();
        }
        429 => return Failure::rate_limited(retry_after()).into(),
        503 | 529 => {
            return Failure::with_retry_after(FailureKind::Overloaded, retry_after()).into();
        }
        424 | 500..=599 => FailureKind::Transient,
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
    mentions(body, &CONTEXT_LENGTH_MARKERS)
}

/// Whether the start of `body` contains one of `markers` (lowercase),
/// whatever the case.
fn mentions(body: &[u8], markers: &[&str]) -> bool {
    let head = &body[..body.len().min(4096)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    markers.iter().any(|marker| text.contains(marker))
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

    /// The error answers of the OpenAI-compatible servers people run
    /// themselves, as they send them.
    #[test]
    fn self_hosted_servers_context_overload_and_rate_limits() {
        let context = [
            // vLLM
            (
                400,
                r#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens in the messages.","type":"BadRequestError","param":null,"code":400}"#,
            ),
            (
                400,
                r#"{"object":"error","message":"The prompt (total length 25938) is too long to fit into the model (context length 4096).","type":"BadRequestError","code":400}"#,
            ),
            // llama.cpp's server
            (
                400,
                r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}"#,
            ),
            // Ollama
            (
                500,
                r#"{"error":{"message":"input exceeds context length","type":"api_error"}}"#,
            ),
            // TGI
            (
                422,
                r#"{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`","error_type":"validation"}"#,
            ),
            (
                422,
                r#"{"error":"Input validation error: `inputs` must have less than 4096 tokens. Given: 5000","error_type":"validation"}"#,
            ),
            // LM Studio
            (
                400,
                r#"{"error":"Trying to keep the first 5000 tokens when context the overflows. However, the model is loaded with context length of only 4096 tokens, which is not enough."}"#,
            ),
        ];
        for (status, body) in context {
            assert_eq!(
                kind(status, body),
                Some(FailureKind::ContextLength),
                "{body}"
            );
        }
        // TGI: an overloaded model, and a generation that failed midway.
        assert_eq!(
            kind(
                429,
                r#"{"error":"Model is overloaded","error_type":"overloaded"}"#
            ),
            Some(FailureKind::Overloaded)
        );
        assert_eq!(
            kind(
                424,
                r#"{"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}"#
            ),
            Some(FailureKind::Transient)
        );
        // llama.cpp and Ollama while busy or loading.
        assert_eq!(
            kind(
                503,
                r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#
            ),
            Some(FailureKind::Overloaded)
        );
        assert_eq!(
            kind(
                503,
                r#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#
            ),
            Some(FailureKind::Overloaded)
        );
        // A plain quota 429 stays a rate limit; an unrelated 500 stays transient.
        assert_eq!(
            kind(
                429,
                r#"{"error":{"message":"Rate limit reached for requests","type":"requests"}}"#
            ),
            Some(FailureKind::RateLimited)
        );
        assert_eq!(
            kind(500, r#"{"error":"CUDA error"}"#),
            Some(FailureKind::Transient)
        );
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
