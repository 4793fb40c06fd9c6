//! Stream resumption (`stream_resume: true` on a route): when a stream breaks
//! after text reached the client, the next target is asked to continue it,
//! in the form it takes ([`Target::continuation`]):
//!
//! - **prefill**: the client's request with the text so far as the start of
//!   the model's own turn (a trailing assistant message, trailing blanks
//!   trimmed, as Anthropic requires), which the model continues;
//! - **instruction**: the text so far as an assistant message, then a user
//!   message asking to carry on from it without repeating it.
//!
//! A target that refuses a prefill (newer Claude models answer 400) is asked
//! again at once by instruction — and, once that is taken, by instruction
//! from then on; its refusal is never what the client sees. Targets with
//! `continuation: off` are never asked. What comes back is held until
//! `steadfast_wire::splice` judges it: joined only if it carries on the text
//! the client has (an exact restart has its repetition dropped); otherwise
//! the target is passed over ([`Skip::NotContinued`]) for the next one. The
//! continuation's attempts join the request's record, so the request is
//! still counted once.

use std::sync::Arc;

use serde_json::json;
use steadfast::FailureKind;
use steadfast::events::Events;
use steadfast_config::Continuation;
use steadfast_wire::Format;
use steadfast_wire::fields::Fields;
use steadfast_wire::splice::Splice;
use steadfast_wire::tokens;
use tracing::{Instrument as _, Span};

use crate::admission::Admission;
use crate::attempt;
use crate::engine;
use crate::error::AttemptError;
use crate::inbound::Inbound;
use crate::outcome::Skip;
use crate::relay::OpenStream;
use crate::runtime::Route;
use crate::session::{Resume, Resumed};
use crate::upstream::Upstream;

/// The instruction appended after the partial answer.
const CONTINUE: &str = "Your previous answer was cut off. Continue it exactly from where it stopped, \
without repeating any of it and without any preamble.";

/// What a continuation is sent with: the request's route, client and budget.
pub(crate) struct Resumer<'a> {
    /// The client for providers.
    pub upstream: &'a Upstream,
    /// The event bus.
    pub events: &'a Events,
    /// The request's route.
    pub route: &'a Arc<Route>,
    /// The client's request.
    pub inbound: &'a Inbound,
    /// Estimated tokens, for rate limits.
    pub units: u64,
    /// The request's id, sent upstream.
    pub request_id: &'a Arc<str>,
    /// The request's trace span, which the continuation's attempts join.
    pub span: &'a Span,
}

/// The continuation request in both forms, and the text it continues.
struct Forms {
    prefill: Inbound,
    instruction: Inbound,
    sent: String,
    units: u64,
}

impl Forms {
    fn new(format: Format, fields: &Fields, sent: String, units: u64) -> Forms {
        let with = |extra: &[serde_json::Value]| {
            let mut fields = fields.clone();
            fields.extend_array("messages", extra);
            Inbound::chat(format, fields, true)
        };
        Forms {
            prefill: with(&[json!({"role": "assistant", "content": sent.trim_end()})]),
            instruction: with(&[
                json!({"role": "assistant", "content": sent}),
                json!({"role": "user", "content": CONTINUE}),
            ]),
            sent,
            units,
        }
    }
}

impl Resumer<'_> {
    /// A [`Resume`] for the streamed request.
    pub(crate) fn resume(&self) -> Resume {
        let upstream = self.upstream.clone();
        let events = self.events.clone();
        let route = Arc::clone(self.route);
        let format = self.inbound.format;
        let fields = self.inbound.fields().clone();
        let prompt_tokens = tokens::estimate(fields.to_json_with_model("").len());
        let (units, request_id, span) =
            (self.units, Arc::clone(self.request_id), self.span.clone());
        Arc::new(move |sent: String, mut tried: Vec<Arc<str>>| {
            let (upstream, events, route) = (upstream.clone(), events.clone(), Arc::clone(&route));
            let (request_id, span) = (Arc::clone(&request_id), span.clone());
            let forms = Forms::new(format, &fields, sent, units);
            // Targets that take no continuation are not even admitted.
            tried.extend(
                route
                    .targets
                    .iter()
                    .filter(|target| target.continuation() == Continuation::Off)
                    .map(|target| Arc::clone(&target.name)),
            );
            Box::pin(async move {
                let (forms, upstream, request_id) = (&forms, &upstream, &*request_id);
                let served = engine::run(&route, &events, units, &tried, |admission| {
                    continue_on(upstream, admission, forms, request_id)
                })
                .instrument(span)
                .await;
                let (stream, attempts) = match served {
                    Ok(served) => (
                        served.values.into_iter().next().map(|(_, stream)| stream),
                        served.attempts,
                    ),
                    Err(failed) => (None, failed.attempts),
                };
                Resumed {
                    stream,
                    attempts,
                    prompt_tokens,
                }
            })
        })
    }
}

/// Asks the admitted target to continue the stream, in the form it takes.
async fn continue_on(
    upstream: &Upstream,
    admission: Admission,
    forms: &Forms,
    request_id: &str,
) -> Result<OpenStream, AttemptError> {
    let target = Arc::clone(admission.target());
    // (`continuation: off` targets were left out before.)
    let result = if target.continuation() == Continuation::Prefill {
        match open(upstream, admission, forms, true, request_id).await {
            Err(error) if error.failure.kind == FailureKind::InvalidRequest => {
                let admission = Admission::admit(&target, forms.units, false)
                    .await
                    .map_err(AttemptError::skipped)?;
                let instructed = open(upstream, admission, forms, false, request_id).await;
                // Refused as a prefill, taken as an instruction: it is the
                // prefill the model does not take.
                if instructed.is_ok() {
                    target.note_refuses_prefill();
                }
                instructed
            }
            other => other,
        }
    } else {
        open(upstream, admission, forms, false, request_id).await
    };
    // A continuation the target will not take says nothing against the
    // request, which reached the client whole so far: the next target may
    // still carry it on.
    result.map_err(|error| match error.failure.kind {
        FailureKind::InvalidRequest => AttemptError::passed_over(
            Skip::NotContinued,
            format!(
                "{} refused the continuation: {}",
                target.name, error.message
            ),
        ),
        _ => error,
    })
}

/// Opens the continuation on the admitted target, by prefill or by
/// instruction, held until its splice has judged it.
async fn open(
    upstream: &Upstream,
    admission: Admission,
    forms: &Forms,
    prefill: bool,
    request_id: &str,
) -> Result<OpenStream, AttemptError> {
    let inbound = if prefill {
        &forms.prefill
    } else {
        &forms.instruction
    };
    let mut call = inbound.call(admission.target())?;
    call.continuation = Some(Splice::new(forms.sent.as_str(), !prefill));
    attempt::open_stream(upstream, admission, call, request_id).await
}
