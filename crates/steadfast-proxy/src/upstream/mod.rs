//! Talking to providers: one pooled HTTP client for every upstream
//! (keep-alive, HTTP/2 where offered), provider credentials, the
//! classification of their answers and the sanitising of their error bodies.

mod connect;
mod google;
mod provider;
mod providers;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Body as _;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use steadfast::classify::http::{classify_response, connection_failure};
use steadfast::{Failure, FailureKind, Outcome};
use thread_local::ThreadLocal;

pub use provider::{Provider, Redaction};
pub use providers::Probe;

use crate::error::AttemptError;
use crate::telemetry::trace;

/// The most of an error body read: enough for any provider's error, and no
/// more, however much a faulty one sends.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// An upstream's answer, its body not yet read.
pub type Response = http::Response<hyper::body::Incoming>;

/// The HTTP client for every provider: one connection pool per thread, so a
/// request and the connection task carrying it run on the same thread (a
/// serving thread's runtime is single-threaded, see `steadfast_net::serve_threads`) and hand
/// over without waking another thread.
#[derive(Clone)]
pub struct Upstream {
    connector: HttpsConnector<connect::Connector>,
    pools: Arc<ThreadLocal<Pool>>,
}

/// One thread's pooled client.
type Pool = Client<HttpsConnector<connect::Connector>, Full<Bytes>>;

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream").finish_non_exhaustive()
    }
}

impl Upstream {
    /// A client with pooled keep-alive connections, HTTP/2 where offered,
    /// through the proxy the environment names, if any.
    pub fn new() -> Result<Upstream, String> {
        Ok(Upstream {
            connector: connect::https(Matcher::from_env())?,
            pools: Arc::new(ThreadLocal::new()),
        })
    }

    /// This thread's pool.
    fn pool(&self) -> &Pool {
        self.pools.get_or(|| {
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(90))
                .pool_max_idle_per_host(512)
                .pool_timer(TokioTimer::new())
                .timer(TokioTimer::new())
                .http2_adaptive_window(true)
                .build(self.connector.clone())
        })
    }

    /// POSTs a JSON body to `path` on `provider`, for its `model` (which an
    /// Azure deployment URL names).
    pub async fn post(
        &self,
        provider: &Provider,
        model: &str,
        path: &str,
        body: Bytes,
        request_id: &str,
    ) -> Result<Response, AttemptError> {
        let mut request = self.request(provider, Method::POST, path, model, body)?;
        if let Some(auth) = provider.google() {
            let value = auth.authorization(self, &provider.name).await?;
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value);
        }
        let headers = request.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert(crate::headers::REQUEST_ID, id);
        }
        trace::propagate(headers);
        self.send(provider, request).await
    }

    /// GETs `path` on `provider` (health probes).
    pub async fn get(&self, provider: &Provider, path: &str) -> Result<Response, AttemptError> {
        let request = self.request(provider, Method::GET, path, "", Bytes::new())?;
        self.send(provider, request).await
    }

    /// A request to `path` on `provider` with its headers and credentials.
    fn request(
        &self,
        provider: &Provider,
        method: Method,
        path: &str,
        model: &str,
        body: Bytes,
    ) -> Result<http::Request<Full<Bytes>>, AttemptError> {
        let url = provider.request_url(path, model).map_err(|why| {
            AttemptError::new(
                Failure::new(FailureKind::Misconfigured),
                format!("{}: the URL of {path} is invalid: {why}", provider.name),
            )
        })?;
        let signed_body = body.clone();
        let mut request = http::Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = url;
        *request.headers_mut() = provider.headers().clone();
        provider.sign(&mut request, &signed_body).map_err(|why| {
            AttemptError::new(
                Failure::new(FailureKind::Misconfigured),
                format!("{}: the call cannot be signed: {why}", provider.name),
            )
        })?;
        Ok(request)
    }

    async fn send(
        &self,
        provider: &Provider,
        request: http::Request<Full<Bytes>>,
    ) -> Result<Response, AttemptError> {
        self.pool().request(request).await.map_err(|error| {
            let what = if error.is_connect() {
                "could not connect to the provider"
            } else {
                CONNECTION_FAILED
            };
            connection_error(&provider.name, what)
        })
    }

    /// Sends `request` as it is (a call that is no provider's API: a token
    /// endpoint).
    pub(super) async fn send_raw(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<Response, hyper_util::client::legacy::Error> {
        self.pool().request(request).await
    }
}

/// What a connection that broke after it was open says.
const CONNECTION_FAILED: &str = "the connection to the provider failed";

/// A failure of the connection to `provider`, described by `what`.
fn connection_error(provider: &str, what: &str) -> AttemptError {
    AttemptError::new(connection_failure(), format!("{what} ({provider})"))
}

/// Reads a whole answer body of at most `limit` bytes from `provider` (its
/// name, for errors); a larger one is a failure of the target, found as soon
/// as the declared length or the bytes read pass the limit.
pub async fn read_body(
    provider: &str,
    response: Response,
    limit: u64,
) -> Result<Bytes, AttemptError> {
    let too_large = || {
        AttemptError::new(
            Failure::new(FailureKind::Fatal),
            format!("the answer of {provider} is larger than {limit} bytes"),
        )
    };
    let mut body = response.into_body();
    if body.size_hint().lower() > limit {
        return Err(too_large());
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut whole = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| connection_error(provider, CONNECTION_FAILED))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        if whole.len() + chunk.len() > limit {
            return Err(too_large());
        }
        if whole.is_empty() && body.is_end_stream() {
            return Ok(chunk);
        }
        whole.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(whole))
}

/// Reads the start of an error answer's body, at most 64 KiB (the rest is
/// left unread and the connection dropped).
pub async fn read_error_body(provider: &str, response: Response) -> Result<Bytes, AttemptError> {
    let mut body = response.into_body();
    let mut start = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| connection_error(provider, CONNECTION_FAILED))?;
        if let Ok(chunk) = frame.into_data() {
            let room = MAX_ERROR_BODY - start.len();
            start.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if start.len() == MAX_ERROR_BODY {
                break;
            }
        }
    }
    Ok(Bytes::from(start))
}

/// Reads and discards an answer's body, up to `limit` bytes, so that its
/// connection can be reused; stops at the limit or at the first error (the
/// connection is then dropped, not reused).
pub async fn drain(response: Response, limit: usize) {
    let mut body = response.into_body();
    let mut read = 0;
    while let Some(Ok(frame)) = body.frame().await {
        read += frame.data_ref().map_or(0, Bytes::len);
        if read > limit {
            return;
        }
    }
}

/// Judges a non-2xx answer: its failure kind (from status, `Retry-After` and
/// body) and a sanitised message that never repeats the raw body.
pub fn judge_error(
    provider: &Provider,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> AttemptError {
    let mut failure = match classify_response(status, headers, body) {
        Outcome::Failure(failure) => failure,
        Outcome::Success => Failure::new(FailureKind::Fatal),
    };
    if failure.retry_after.is_none() {
        failure.retry_after = provider.format.codec().retry_after(body);
    }
    let detail = match failure.kind {
        // The client's own mistake: tell it what the provider said, cleaned.
        FailureKind::InvalidRequest | FailureKind::ContextLength => upstream_message(body)
            .map(|message| format!(": {}", provider.clean(&message)))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let what = match failure.kind {
        FailureKind::RateLimited => "rate-limited the request",
        FailureKind::Overloaded => "is overloaded",
        FailureKind::Misconfigured => "refused the gateway's credentials",
        FailureKind::ContextLength => "cannot fit the request in its context window",
        FailureKind::InvalidRequest => "rejected the request as invalid",
        FailureKind::Timeout => "timed out",
        _ => "failed",
    };
    let code = match failure.kind {
        FailureKind::InvalidRequest | FailureKind::ContextLength => upstream_code(body),
        _ => None,
    };
    AttemptError::answered(
        failure,
        status.as_u16(),
        format!(
            "{} {what} (HTTP {}){detail}",
            provider.name,
            status.as_u16()
        ),
    )
    .with_code(code)
}

/// The error code of an error body (OpenAI's and Azure's `error.code`), if
/// it is a plain identifier (`content_filter`, `content_policy_violation`):
/// the client's own SDK may act on it.
fn upstream_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = value["error"]["code"].as_str()?;
    let plain = (1..=64).contains(&code.len())
        && code.bytes().all(|byte| {
            byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.' || byte == b'-'
        });
    plain.then(|| code.to_owned())
}

/// The message of an error body, in any provider's shape.
fn upstream_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = &value["error"];
    // OpenAI's and Anthropic's `error.message`, TGI's `error` string,
    // Bedrock's top-level `message`.
    error["message"]
        .as_str()
        .or_else(|| error.as_str())
        .or_else(|| value["message"].as_str())
        .map(steadfast_wire::sanitise::bounded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Provider {
        provider::tests::openai("sk-test-abcdefgh")
    }

    #[test]
    fn error_bodies_are_summarised_not_passed_through() {
        let provider = provider();
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-test-abcdefgh. Internal trace 123","type":"invalid_request_error"}}"#;
        let error = judge_error(&provider, StatusCode::UNAUTHORIZED, &HeaderMap::new(), body);
        assert_eq!(error.failure.kind, FailureKind::Misconfigured);
        assert_eq!(
            error.message,
            "openai refused the gateway's credentials (HTTP 401)"
        );
        let body = br#"{"error":{"message":"Invalid value for temperature, key sk-test-abcdefgh","type":"invalid_request_error"}}"#;
        let error = judge_error(&provider, StatusCode::BAD_REQUEST, &HeaderMap::new(), body);
        assert_eq!(error.failure.kind, FailureKind::InvalidRequest);
        assert!(!error.message.contains("abcdefgh"), "{}", error.message);
        assert!(error.message.contains("Invalid value for temperature"));
    }

    #[test]
    fn rate_limits_keep_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("7"));
        let error = judge_error(&provider(), StatusCode::TOO_MANY_REQUESTS, &headers, b"{}");
        assert_eq!(
            error.failure,
            Failure::rate_limited(Some(Duration::from_secs(7)))
        );
    }
}
