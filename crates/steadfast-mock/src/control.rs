//! The fault controls of a simulated provider: what it does with the next
//! requests, settable at start and at run time, and what it has seen.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use steadfast::rng::Rng;
use tokio::sync::watch;

/// What the provider does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Answer normally.
    #[default]
    Ok,
    /// Answer with the HTTP status in `status` and a provider-shaped error body.
    Error,
    /// Never answer (until the client gives up).
    Hang,
    /// Refuse connections: the listening socket and open connections are closed.
    Refuse,
    /// Answer 429 with `Retry-After: retry_after`.
    RateLimit,
    /// Answer 400 with a context-length error.
    ContextLength,
    /// Stream normally, then break the connection after `cut_after` chunks.
    CutStream,
    /// Answer HTTP 200 and stream `cut_after` chunks, then an error event
    /// (`error_body`, else the provider's own error) and the end of the
    /// stream, as vLLM, llama.cpp and TGI do when generation fails.
    StreamError,
    /// The provider's safety system stops the answer, with HTTP 200: Gemini
    /// blocks the prompt (`promptFeedback.blockReason`); OpenAI and Azure
    /// chat withhold the completion (`finish_reason: content_filter`, no
    /// content, or half of it streamed first; Azure's annotations mark it
    /// filtered); other kinds answer normally.
    SafetyBlock,
    /// OpenAI and Azure chat streams: stream content chunks without end, one
    /// every `chunk_interval_ms`, each carrying the whole answer text (so
    /// `reply` sets their size); other answers are normal.
    EndlessStream,
    /// Answer HTTP 200 with a body that never ends and never completes an
    /// event (`data: xxx…` in 64 KiB pieces, as fast as it is read), to plain
    /// and streamed requests alike.
    Flood,
    /// OpenAI and Anthropic chat streams: the whole answer, finish reason
    /// and usage, then the end of the body without the stream's own last
    /// event (`data: [DONE]`, `message_stop`), as some servers do.
    NoEnd,
    /// OpenAI and Anthropic chat streams: an event whose data is not JSON
    /// after `cut_after` events, then the rest of a complete stream.
    Malformed,
    /// OpenAI and Anthropic chat streams: HTTP 200 and events that are not
    /// JSON, then the stream's own last event — no answer at all.
    Garbage,
}

/// The provider's settings; every field can be changed at run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// The fault mode.
    pub mode: Mode,
    /// The status of `error` mode.
    pub status: u16,
    /// The `Retry-After` seconds of `rate_limit` mode.
    pub retry_after: u64,
    /// The chunks sent before `cut_stream` mode breaks the connection (of
    /// the answer: Azure's chunk of verdicts on the prompt is not counted).
    pub cut_after: u32,
    /// Added before every answer (milliseconds).
    pub latency_ms: u64,
    /// Pause between streamed chunks (milliseconds).
    pub chunk_interval_ms: u64,
    /// Share of requests (0 to 1) answered with a 500, drawn from the seeded source.
    pub fail_rate: f64,
    /// The model name put in answers; empty echoes the requested model.
    pub answer_model: String,
    /// The answer text; empty answers "`<name> here. You said: <last message>`".
    pub reply: String,
    /// The body of `error` mode and of `stream_error`'s error event, as a
    /// particular server writes it; none sends the provider's own shape.
    pub error_body: Option<serde_json::Value>,
    /// Vertex AI: the lifetime, in seconds, of the access tokens issued.
    pub token_lifetime_s: u64,
    /// OpenAI and Anthropic chat: answer 400 to a request whose last
    /// message is the assistant's (a prefill), as newer Claude models do.
    pub refuse_prefill: bool,
    /// The mode applies to this many model requests from when it is set,
    /// then the provider answers normally; 0: to every request.
    pub times: u32,
    /// OpenAI chat: requests left in the provider's rate limit, told as
    /// OpenAI does (`x-ratelimit-remaining-requests`, of a
    /// `x-ratelimit-limit-requests` of 1000); none sends no such header.
    pub ratelimit_remaining: Option<u64>,
    /// Model requests the provider serves at once; past it a request is
    /// refused at once, as an overloaded service does (429 without
    /// `Retry-After`; Anthropic 529 `overloaded_error`); 0: no bound.
    pub capacity: usize,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            mode: Mode::Ok,
            status: 500,
            retry_after: 1,
            cut_after: 3,
            latency_ms: 0,
            chunk_interval_ms: 0,
            fail_rate: 0.0,
            answer_model: String::new(),
            reply: String::new(),
            error_body: None,
            token_lifetime_s: 3600,
            refuse_prefill: false,
            times: 0,
            ratelimit_remaining: None,
            capacity: 0,
        }
    }
}

/// Counters of what the provider has seen.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests received on the model API (chat, embeddings, messages).
    pub requests: u64,
    /// Requests answered (fully, for streams).
    pub completed: u64,
    /// Requests whose client went away before the answer was complete.
    pub cancelled: u64,
    /// Requests failed on purpose.
    pub failed: u64,
    /// Requests to the models endpoint (health probes).
    pub model_lists: u64,
    /// Access tokens issued (Vertex AI's token endpoint).
    pub tokens: u64,
}

/// Shared fault state and counters of one simulated provider.
#[derive(Debug)]
pub struct Control {
    faults: watch::Sender<Faults>,
    rng: Rng,
    requests: AtomicU64,
    /// Model requests begun and not yet ended.
    in_flight: AtomicUsize,
    /// `requests` when the faults were last set (for `times`).
    requests_at_set: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    failed: AtomicU64,
    model_lists: AtomicU64,
    tokens: AtomicU64,
    last_request: Mutex<Option<serde_json::Value>>,
    last_authorization: Mutex<Option<String>>,
    last_headers: Mutex<Option<axum::http::HeaderMap>>,
    last_uri: Mutex<Option<String>>,
}

impl Control {
    /// Fresh controls with the given starting faults and random seed.
    pub fn new(faults: Faults, seed: u64) -> Control {
        Control {
            faults: watch::channel(faults).0,
            rng: Rng::with_seed(seed),
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            requests_at_set: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            model_lists: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
            last_request: Mutex::new(None),
            last_authorization: Mutex::new(None),
            last_headers: Mutex::new(None),
            last_uri: Mutex::new(None),
        }
    }

    /// The current settings; once a mode set for `times` requests has had
    /// them, the normal ones.
    pub fn faults(&self) -> Faults {
        let faults = self.faults.borrow().clone();
        let seen =
            self.requests.load(Ordering::Relaxed) - self.requests_at_set.load(Ordering::Relaxed);
        if faults.times > 0 && seen > u64::from(faults.times) {
            return Faults {
                mode: Mode::Ok,
                times: 0,
                ..faults
            };
        }
        faults
    }

    /// Replaces the settings.
    pub fn set(&self, faults: Faults) {
        self.requests_at_set
            .store(self.requests.load(Ordering::Relaxed), Ordering::Relaxed);
        self.faults.send_replace(faults);
    }

    /// Changes only the mode.
    pub fn set_mode(&self, mode: Mode) {
        self.faults.send_modify(|faults| faults.mode = mode);
    }

    /// Watches the settings (the accept loop uses it to stop and resume listening).
    pub fn watch(&self) -> watch::Receiver<Faults> {
        self.faults.subscribe()
    }

    /// The counters so far.
    pub fn counts(&self) -> Counts {
        Counts {
            requests: self.requests.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            model_lists: self.model_lists.load(Ordering::Relaxed),
            tokens: self.tokens.load(Ordering::Relaxed),
        }
    }

    /// Model requests begun and not yet ended.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The JSON body of the last model request.
    pub fn last_request(&self) -> Option<serde_json::Value> {
        self.last_request.lock().ok().and_then(|last| last.clone())
    }

    /// The `Authorization` (or `x-api-key`) header of the last model request.
    pub fn last_authorization(&self) -> Option<String> {
        self.last_authorization
            .lock()
            .ok()
            .and_then(|last| last.clone())
    }

    /// A header of the last model request (e.g. `x-request-id`).
    pub fn last_header(&self, name: &str) -> Option<String> {
        let last = self.last_headers.lock().ok()?;
        let value = last.as_ref()?.get(name)?;
        value.to_str().ok().map(str::to_owned)
    }

    /// The path and query of the last model request that notes them
    /// (Azure's deployment URLs).
    pub fn last_uri(&self) -> Option<String> {
        self.last_uri.lock().ok()?.clone()
    }

    /// Keeps the path and query of a model request for [`Control::last_uri`].
    pub fn note_uri(&self, uri: &str) {
        if let Ok(mut last) = self.last_uri.lock() {
            *last = Some(uri.to_owned());
        }
    }

    /// Keeps the headers of a model request for [`Control::last_header`].
    pub fn note_headers(&self, headers: &axum::http::HeaderMap) {
        if let Ok(mut last) = self.last_headers.lock() {
            *last = Some(headers.clone());
        }
    }

    /// Notes a model request and returns a guard that counts it as cancelled
    /// unless `RequestGuard::complete` or `RequestGuard::fail` is called.
    pub fn begin(
        self: &Arc<Self>,
        body: &serde_json::Value,
        authorization: Option<String>,
    ) -> RequestGuard {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_request.lock() {
            *last = Some(body.clone());
        }
        if let Ok(mut last) = self.last_authorization.lock() {
            *last = authorization;
        }
        RequestGuard {
            control: Arc::clone(self),
            done: false,
        }
    }

    /// Counts an access token issued; its number, from 1.
    pub fn issue_token(&self) -> u64 {
        self.tokens.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Notes a health probe's call: the model list, or a token count.
    pub fn count_model_list(&self) {
        self.model_lists.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a random failure is due, per `fail_rate`.
    pub fn random_failure(&self, fail_rate: f64) -> bool {
        self.rng.chance(fail_rate)
    }

    /// Sleeps for the configured latency.
    pub async fn delay(&self, faults: &Faults) {
        if faults.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
        }
    }
}

/// Counts one request's end: completed, failed or (if dropped) cancelled.
#[derive(Debug)]
pub struct RequestGuard {
    control: Arc<Control>,
    done: bool,
}

impl RequestGuard {
    /// The request was answered in full.
    pub fn complete(mut self) {
        self.done = true;
        self.control.completed.fetch_add(1, Ordering::Relaxed);
    }

    /// The request was failed on purpose.
    pub fn fail(mut self) {
        self.done = true;
        self.control.failed.fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.control.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.done {
            self.control.cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_read_with_and_without_a_mode() {
        let faults: Faults =
            serde_json::from_str(r#"{"mode":"rate_limit","retry_after":3}"#).unwrap();
        assert_eq!((faults.mode, faults.retry_after), (Mode::RateLimit, 3));
        let faults: Faults = serde_json::from_str(r#"{"latency_ms":5}"#).unwrap();
        assert_eq!((faults.mode, faults.latency_ms), (Mode::Ok, 5));
        assert!(serde_json::from_str::<Faults>(r#"{"mdoe":"hang"}"#).is_err());
    }
}
