//! One attempt on one target, in whatever format the target speaks: plain
//! (the whole answer within the target's timeout) or streamed (the first
//! piece of the answer within the first-token timeout, then relayed as it
//! arrives, see [`relay`](crate::relay)).

use std::sync::Arc;

use bytes::Bytes;
use steadfast::{Failure, FailureKind};
use steadfast_wire::sanitise::sanitise;
use tracing::Instrument as _;

use crate::admission::Admission;
use crate::error::AttemptError;
use crate::inbound::Call;
use crate::outcome::Skip;
use crate::relay::OpenStream;
use crate::runtime::Target;
use crate::telemetry::trace;
use crate::upstream::{Upstream, judge_error, read_body, read_error_body};

/// Sends one plain (non-streamed) request and records its outcome; the
/// answer comes back in the client's format.
pub(crate) async fn plain(
    upstream: &Upstream,
    admission: Admission,
    call: Call,
    request_id: &str,
) -> Result<Bytes, AttemptError> {
    let target = Arc::clone(admission.target());
    let provider = &target.provider;
    let exchange = async {
        let response = upstream
            .post(
                provider,
                target.upstream_model(),
                call.path,
                call.body,
                request_id,
            )
            .await?;
        target.note_rate_limit(response.headers());
        let status = response.status();
        if !status.is_success() {
            let headers = response.headers().clone();
            let body = read_error_body(&provider.name, response).await?;
            return Err(judge_error(provider, status, &headers, &body));
        }
        let body = read_body(&provider.name, response, target.settings.max_answer_bytes).await?;
        call.translation.read(body).map_err(|error| {
            AttemptError::new(
                Failure::transient(),
                format!(
                    "{} answered with a body that cannot be read: {error}",
                    target.name
                ),
            )
        })
    };
    let span = attempt_span(&target);
    let timed = tokio::time::timeout(target.timeout(), exchange).instrument(span.clone());
    let result = match timed.await {
        Ok(result) => result,
        Err(_) => Err(AttemptError::new(
            Failure::timeout(),
            format!(
                "{} did not answer within {:?}",
                target.name,
                target.timeout()
            ),
        )),
    };
    let result = result.and_then(|answered| match wrong_model(&target, &answered.model) {
        Some(error) => Err(error),
        None => Ok(answered),
    });
    match result {
        Ok(answered) => {
            admission.succeed(answered.usage);
            Ok(answered.body)
        }
        Err(error) => {
            trace::failed(&span, error.failure.kind.as_str());
            admission.fail(error.failure);
            Err(error)
        }
    }
}

/// Sends one streamed request and waits for the first piece of the answer.
pub(crate) async fn open_stream(
    upstream: &Upstream,
    admission: Admission,
    call: Call,
    request_id: &str,
) -> Result<OpenStream, AttemptError> {
    let target = Arc::clone(admission.target());
    let provider = &target.provider;
    let opening = async {
        let response = upstream
            .post(
                provider,
                target.upstream_model(),
                call.path,
                call.body,
                request_id,
            )
            .await?;
        target.note_rate_limit(response.headers());
        let status = response.status();
        if !status.is_success() {
            let headers = response.headers().clone();
            let body = read_error_body(&provider.name, response).await?;
            return Err(judge_error(provider, status, &headers, &body));
        }
        Ok(response)
    };
    let first_token_timeout = target.first_token_timeout();
    let span = attempt_span(&target);
    let mut stream = None;
    let opened = tokio::time::timeout(first_token_timeout, async {
        let response = opening.await?;
        let mut translator = call.translation.stream();
        if let Some(splice) = call.continuation {
            translator.hold(splice);
        }
        if let Some(limit) = call.capture {
            translator.capture(limit);
        }
        let open = stream.insert(OpenStream::new(
            response,
            call.translation.target,
            translator,
        ));
        open.first_content().await.map_err(|problem| {
            AttemptError::new(
                problem.failure,
                format!("{} {}", provider.name, provider.clean(&problem.message)),
            )
        })?;
        match wrong_model(&target, open.model().unwrap_or_default()) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    })
    .instrument(span.clone())
    .await;
    let error = match (opened, stream) {
        (Ok(Ok(())), Some(open)) => return Ok(open.with_admission(admission)),
        (Ok(Err(error)), Some(open)) if open.refused().is_some() => {
            // A continuation that cannot be joined says nothing of the
            // target's health: its admission goes unrecorded.
            drop(admission);
            return Err(AttemptError::passed_over(Skip::NotContinued, error.message));
        }
        (Err(_), Some(open)) if open.judging() => {
            // Still repeating the text sent when time ran out: a long
            // restart, not a silent model.
            drop(admission);
            return Err(AttemptError::passed_over(
                Skip::NotContinued,
                format!(
                    "{} was still repeating the text sent after {first_token_timeout:?}",
                    target.name
                ),
            ));
        }
        (Ok(Err(error)), _) => error,
        (Ok(Ok(())), None) | (Err(_), _) => AttemptError::new(
            Failure::timeout(),
            format!(
                "{} sent no first chunk within {first_token_timeout:?}",
                target.name
            ),
        ),
    };
    trace::failed(&span, error.failure.kind.as_str());
    admission.fail(error.failure);
    Err(error)
}

/// With `verify_model`, a failure when the answer names another model than
/// the configured one (a dated variant such as `gpt-4o-2024-08-06` of
/// `gpt-4o` is the same model).
fn wrong_model(target: &Target, answered: &str) -> Option<AttemptError> {
    if !target.settings.verify_model || answered.starts_with(target.upstream_model()) {
        return None;
    }
    Some(AttemptError::new(
        Failure::new(FailureKind::Fatal),
        format!(
            "{} answered as model {:?}, not the configured {:?}",
            target.name,
            sanitise(answered),
            target.upstream_model()
        ),
    ))
}

/// The trace span of one attempt on `target`.
fn attempt_span(target: &Target) -> tracing::Span {
    trace::attempt_span(&target.name, &target.provider.name, target.upstream_model())
}
