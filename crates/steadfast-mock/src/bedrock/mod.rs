//! Amazon Bedrock's Converse API as the simulated provider speaks it:
//! `POST /model/{modelId}/converse` and `…/converse-stream` (answers in AWS's
//! binary event-stream framing), each call needing a Signature Version 4
//! `Authorization` header for the `bedrock` service, errors as AWS sends them
//! (`x-amzn-ErrorType` and a `message`), exceptions inside a stream.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use steadfast_config::ProviderKind;
use steadfast_wire::bedrock::frame::{event_frame, exception_frame};

use super::MockState;
use super::control::Mode;
use super::respond::{Verdict, aws_error, echo, judge, sse_response, tokens};

/// AWS's refusal of an unsigned call (or one signed for another service).
fn refused(headers: &HeaderMap) -> Option<Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let signed = authorization.starts_with("AWS4-HMAC-SHA256 Credential=")
        && authorization.contains("/bedrock/aws4_request")
        && authorization.contains("SignedHeaders=")
        && authorization.contains("Signature=")
        && headers.contains_key("x-amz-date");
    (!signed).then(|| {
        aws_error(
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    })
}

async fn answer(
    state: &MockState,
    model: &str,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
    stream: bool,
) -> Response {
    if let Some(refusal) = refused(headers) {
        return refusal;
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "Malformed input request.",
        );
    };
    let Some(messages) = body["messages"].as_array() else {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "The messages field is required.",
        );
    };
    // Converse refuses two turns of one role in a row and a conversation
    // that does not begin with the user (the service's own words).
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap_or_default())
        .collect();
    if roles.first().is_some_and(|role| *role != "user")
        || roles.windows(2).any(|pair| pair[0] == pair[1])
    {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
        );
    }
    // Converse refuses a blank text block (the service's own words).
    let blank = messages.iter().enumerate().find_map(|(i, message)| {
        let content = message["content"].as_array()?;
        content.iter().enumerate().find_map(|(j, block)| {
            block["text"]
                .as_str()
                .filter(|text| text.trim().is_empty())
                .map(|_| (i, j))
        })
    });
    if let Some((i, j)) = blank {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            &format!(
                "The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again."
            ),
        );
    }
    let last = messages
        .last()
        .and_then(|message| message["content"].as_array())
        .and_then(|content| content.iter().find_map(|block| block["text"].as_str()))
        .unwrap_or_default()
        .to_owned();
    let control = &state.control;
    control.note_uri(&uri.to_string());
    control.note_headers(headers);
    let guard = control.begin(&body, None);
    let faults = control.faults();
    match judge(control, &faults, ProviderKind::Bedrock).await {
        Verdict::Answer => {}
        Verdict::Fail(response) => {
            guard.fail();
            return response;
        }
        Verdict::Hang => std::future::pending::<()>().await,
    }
    let text = if faults.reply.is_empty() {
        echo(&state.name, &last)
    } else {
        faults.reply.clone()
    };
    let _ = model;
    let (input, output) = (tokens(&body["messages"].to_string()), tokens(&text));
    let usage =
        json!({"inputTokens": input, "outputTokens": output, "totalTokens": input + output});
    if !stream {
        guard.complete();
        return Json(json!({
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": usage,
            "metrics": {"latencyMs": 12},
        }))
        .into_response();
    }
    let mut frames = vec![event_frame("messageStart", &json!({"role": "assistant"}))];
    frames.extend(text.split_inclusive(' ').map(|word| {
        event_frame(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": word}}),
        )
    }));
    frames.push(event_frame(
        "contentBlockStop",
        &json!({"contentBlockIndex": 0}),
    ));
    frames.push(event_frame(
        "messageStop",
        &json!({"stopReason": "end_turn"}),
    ));
    frames.push(event_frame(
        "metadata",
        &json!({"usage": usage, "metrics": {"latencyMs": 12}}),
    ));
    if faults.mode == Mode::StreamError {
        frames.truncate(faults.cut_after as usize);
        frames.push(exception_frame(
            "modelStreamErrorException",
            "The model failed mid-stream (simulated)",
        ));
    }
    let cut_after = (faults.mode == Mode::CutStream).then_some(faults.cut_after);
    let mut response = sse_response(
        frames,
        cut_after,
        Duration::from_millis(faults.chunk_interval_ms),
        guard,
    );
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    response
}

/// `POST /model/{modelId}/converse`.
pub(super) async fn converse(
    State(state): State<Arc<MockState>>,
    Path(model): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&state, &model, &headers, &uri, &body, false).await
}

/// `POST /model/{modelId}/converse-stream`.
pub(super) async fn converse_stream(
    State(state): State<Arc<MockState>>,
    Path(model): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&state, &model, &headers, &uri, &body, true).await
}
