//! What every simulated format shares: the verdict of the fault controls on
//! a request, error bodies in each provider's shape, server-sent event
//! answers, and the deterministic answer text, tool call and token counts.
//!
//! Where the error shapes come from: OpenAI's error object and codes
//! (<https://platform.openai.com/docs/guides/error-codes>), Anthropic's
//! (<https://docs.anthropic.com/en/api/errors>), Google's `google.rpc.Status`
//! with a `RetryInfo` detail (<https://cloud.google.com/apis/design/errors>),
//! AWS's `x-amzn-ErrorType` and Bedrock's exception names
//! (<https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html>).
//! Azure's codes written as strings of the status, and the words of its
//! quota 429, rest on reports of the live service.

use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_wire::Format;

use super::control::{Control, Faults, Mode, RequestGuard};

/// What a failing request gets instead of an answer, if anything.
pub(super) enum Verdict {
    /// Answer normally (maybe cutting a stream short).
    Answer,
    /// Answer with this response.
    Fail(Response),
    /// Never answer.
    Hang,
}

/// Applies latency and the fault mode to one request.
pub(super) async fn judge(control: &Control, faults: &Faults, kind: ProviderKind) -> Verdict {
    // Over capacity at arrival: refused at once.
    let over_capacity = faults.capacity > 0 && control.in_flight() > faults.capacity;
    if !over_capacity {
        control.delay(faults).await;
    }
    let (status, retry_after, fault) = match faults.mode {
        _ if over_capacity && kind == ProviderKind::Anthropic => {
            (529, None, Fault::Server("Overloaded (simulated capacity)"))
        }
        _ if over_capacity => (429, None, Fault::RateLimit(0)),
        Mode::Flood => return Verdict::Fail(flood()),
        Mode::Ok
        | Mode::CutStream
        | Mode::StreamError
        | Mode::SafetyBlock
        | Mode::EndlessStream
        | Mode::NoEnd
        | Mode::Malformed
        | Mode::Garbage
        | Mode::Refuse => {
            if !control.random_failure(faults.fail_rate) {
                return Verdict::Answer;
            }
            (500, None, Fault::Server("simulated internal error"))
        }
        Mode::Hang => return Verdict::Hang,
        Mode::Error => (faults.status, None, Fault::Server("simulated failure")),
        Mode::RateLimit => (
            429,
            Some(faults.retry_after),
            Fault::RateLimit(faults.retry_after),
        ),
        Mode::ContextLength => (400, None, Fault::ContextLength),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if kind == ProviderKind::Bedrock && faults.error_body.is_none() {
        let (error_type, message) = match fault {
            Fault::RateLimit(_) => (
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            ),
            Fault::ContextLength => (
                "ValidationException",
                "Input is too long for requested model.",
            ),
            Fault::Server(_) if status == StatusCode::SERVICE_UNAVAILABLE => (
                "ServiceUnavailableException",
                "Bedrock is unable to process your request. (simulated)",
            ),
            Fault::Server(_) => (
                "InternalServerException",
                "The server encountered an error processing your request. (simulated)",
            ),
        };
        return Verdict::Fail(aws_error(status, error_type, message));
    }
    let body = match (&faults.error_body, faults.mode) {
        (Some(body), Mode::Error) => body.clone(),
        _ => fault.body(kind, status),
    };
    let mut response = (status, Json(body)).into_response();
    // Gemini says how long to wait in its body (`RetryInfo`), not a header.
    if let Some(seconds) = retry_after.filter(|_| kind != ProviderKind::Gemini) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    Verdict::Fail(response)
}

/// A 200 answer whose body never ends, nor ends an event.
fn flood() -> Response {
    let piece = Bytes::from([b"data: ".as_slice(), &[b'x'; 64 * 1024 - 6]].concat());
    event_stream(stream::repeat_with(move || {
        Ok::<_, std::io::Error>(piece.clone())
    }))
}

/// A simulated failure, to be put in a provider's error shape.
enum Fault {
    Server(&'static str),
    /// With the seconds to wait.
    RateLimit(u64),
    ContextLength,
}

impl Fault {
    fn body(&self, kind: ProviderKind, status: StatusCode) -> Value {
        match (kind, self) {
            (ProviderKind::Openai, Fault::Server(message)) => openai_error("server_error", message),
            (ProviderKind::Openai, Fault::RateLimit(_)) => {
                openai_error("rate_limit_exceeded", "simulated rate limit")
            }
            // Azure writes its codes as strings of the HTTP status.
            (ProviderKind::Azure, Fault::Server(message)) => {
                json!({"error": {"code": status.as_u16().to_string(), "message": message}})
            }
            (ProviderKind::Azure, Fault::RateLimit(_)) => json!({"error": {
                "code": "429",
                "message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. (simulated)"
            }}),
            (ProviderKind::Openai | ProviderKind::Azure, Fault::ContextLength) => json!({"error": {
                "message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded"
            }}),
            (ProviderKind::Anthropic, Fault::Server(message)) => {
                let kind = steadfast_wire::anthropic::error_type(status.as_u16());
                steadfast_wire::anthropic::error_body(kind, message)
            }
            (ProviderKind::Anthropic, Fault::RateLimit(_)) => {
                steadfast_wire::anthropic::error_body(
                    "rate_limit_error",
                    "Number of request tokens has exceeded your per-minute rate limit (simulated)",
                )
            }
            // Answered by `judge` in AWS's shape.
            (ProviderKind::Bedrock, _) => json!({"message": "simulated failure"}),
            (ProviderKind::Gemini | ProviderKind::Vertex, Fault::Server(message)) => {
                let name = if status == StatusCode::SERVICE_UNAVAILABLE {
                    "UNAVAILABLE"
                } else {
                    "INTERNAL"
                };
                steadfast_wire::gemini::error_body(status.as_u16(), name, message)
            }
            (ProviderKind::Gemini | ProviderKind::Vertex, Fault::RateLimit(seconds)) => {
                json!({"error": {
                    "code": 429,
                    "message": "Resource has been exhausted (e.g. check quota). (simulated)",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{seconds}s")}]
                }})
            }
            (ProviderKind::Gemini | ProviderKind::Vertex, Fault::ContextLength) => {
                steadfast_wire::gemini::error_body(
                    400,
                    "INVALID_ARGUMENT",
                    "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
                )
            }
            (ProviderKind::Anthropic, Fault::ContextLength) => {
                steadfast_wire::anthropic::error_body(
                    "invalid_request_error",
                    "prompt is too long: 210000 tokens > 200000 maximum",
                )
            }
        }
    }
}

/// The error event of `stream_error` mode: `error_body`, else an OpenAI
/// server error.
pub(super) fn stream_error_event(faults: &Faults) -> Bytes {
    let body = faults
        .error_body
        .clone()
        .unwrap_or_else(|| openai_error("server_error", "simulated failure mid-stream"));
    Bytes::from(format!("data: {body}\n\n"))
}

fn openai_error(kind: &str, message: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": kind}})
}

/// An error in AWS's shape: the status, `x-amzn-ErrorType` and a `message`.
pub(super) fn aws_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let mut response = (status, Json(json!({"message": message}))).into_response();
    if let Ok(value) = error_type.parse() {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

/// A 400 for a request the simulated provider cannot read.
pub(super) fn bad_request(kind: Format, message: &str) -> Response {
    let body = match kind {
        Format::Openai | Format::Responses | Format::Bedrock => {
            json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
        }
        Format::Anthropic => {
            steadfast_wire::anthropic::error_body("invalid_request_error", message)
        }
        Format::Gemini => steadfast_wire::gemini::error_body(400, "INVALID_ARGUMENT", message),
    };
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// The 400 of a model that takes no prefill, when asked one (`refuse_prefill`).
pub(super) fn refused_prefill(kind: Format, faults: &Faults, body: &Value) -> Option<Response> {
    let prefill = body["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .is_some_and(|last| last["role"] == "assistant");
    (faults.refuse_prefill && prefill).then(|| {
        bad_request(
            kind,
            "This model does not support assistant message prefill. The conversation must end with a user message.",
        )
    })
}

/// A complete stream's events shaped by the `no_end`, `malformed` and
/// `garbage` modes: its last event left out, an event that is not JSON put
/// in after `cut_after` events, or nothing but such events and the last.
pub(super) fn shape_stream(mut events: Vec<Bytes>, faults: &Faults) -> Vec<Bytes> {
    match faults.mode {
        Mode::NoEnd => {
            events.pop();
        }
        Mode::Malformed => {
            let at = (faults.cut_after as usize).min(events.len());
            events.insert(
                at,
                Bytes::from_static(b"data: {\"choices\": [{\"delta\": {\"content\": \n\n"),
            );
        }
        Mode::Garbage => {
            let last = events.pop().unwrap_or_default();
            let garbage = Bytes::from_static(b"data: not json\n\n");
            events = vec![garbage.clone(), garbage, last];
        }
        _ => {}
    }
    events
}

/// The deterministic answer to a request whose last message says `last`.
pub(super) fn echo(name: &str, last: &str) -> String {
    let echo: String = last.chars().take(60).collect();
    format!("{name} here. You said: {echo}")
}

/// The call the simulated model makes when a request offers tools: the
/// first tool offered, with the user's words as its arguments
/// (`{"text": said}`); none once the conversation's last turn carries a
/// tool's result, which the model then answers in words. One rule for every
/// format, so a tool conversation runs the same against any kind.
pub(super) fn tool_call(
    first_tool: Option<&str>,
    said: &str,
    answered: bool,
) -> Option<(String, Value)> {
    first_tool
        .filter(|_| !answered)
        .map(|tool| (tool.to_owned(), json!({"text": said})))
}

/// `text` cut in two near its middle, on a character boundary: a call's
/// arguments streamed in pieces, as the services stream them.
pub(super) fn halves(text: &str) -> (&str, &str) {
    let mut middle = text.len() / 2;
    while !text.is_char_boundary(middle) {
        middle += 1;
    }
    text.split_at(middle)
}

/// The Claude models that take a JSON schema for their answer (structured
/// outputs), as Anthropic's and AWS's structured output guides name them:
/// Haiku, Sonnet and Opus 4.5, Opus and Sonnet 4.6.
const STRUCTURED_OUTPUT_MODELS: &[&str] = &[
    "claude-haiku-4-5",
    "claude-sonnet-4-5",
    "claude-opus-4-5",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
];

/// Whether `model` is one of [`STRUCTURED_OUTPUT_MODELS`].
pub(super) fn takes_structured_output(model: &str) -> bool {
    STRUCTURED_OUTPUT_MODELS
        .iter()
        .any(|name| model.contains(name))
}

/// The authorization the client sent, for tests that check keys are forwarded.
pub(super) fn authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .or_else(|| headers.get("x-api-key"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Rough token count of a text (a word is a token, as far as tests care).
pub(super) fn tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Streams `events` as server-sent events, pausing `interval` between them and
/// breaking the connection after `cut_after` events if set.
pub(super) fn sse_response(
    events: Vec<Bytes>,
    cut_after: Option<u32>,
    interval: Duration,
    guard: RequestGuard,
) -> Response {
    let total = events.len();
    let state = (events.into_iter().enumerate(), Some(guard));
    let body = stream::unfold(state, move |(mut events, mut guard)| async move {
        let (index, event) = events.next()?;
        if index > 0 && !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
        if cut_after.is_some_and(|after| index >= after as usize) {
            if let Some(guard) = guard.take() {
                guard.fail();
            }
            let broken = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "simulated cut");
            return Some((Err(broken), (events, None)));
        }
        if index + 1 == total {
            if let Some(guard) = guard.take() {
                guard.complete();
            }
        }
        Some((Ok::<_, std::io::Error>(event), (events, guard)))
    });
    event_stream(body)
}

/// A 200 answer of server-sent events from `body`.
pub(super) fn event_stream<S>(body: S) -> Response
where
    S: futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_tool_is_called_until_a_result_comes_back() {
        assert_eq!(
            tool_call(Some("weather"), "Paris?", false),
            Some(("weather".to_owned(), json!({"text": "Paris?"})))
        );
        assert_eq!(tool_call(Some("weather"), "Paris?", true), None);
        assert_eq!(tool_call(None, "Paris?", false), None);
    }

    #[test]
    fn arguments_are_halved_on_a_character_boundary() {
        let arguments = json!({"text": "été à Zürich"}).to_string();
        let (head, tail) = halves(&arguments);
        assert_eq!(format!("{head}{tail}"), arguments);
        assert!(!head.is_empty() && !tail.is_empty());
        assert_eq!(halves(""), ("", ""));
    }
}
