//! Stream resumption (`stream_resume: true` on a route): when a stream breaks
//! after text reached the client, the next target is asked to continue it.
//!
//! The continuation request is the client's request with the text so far as
//! an assistant message and an instruction to carry on from there without
//! repeating it — the form every chat API accepts (Anthropic's Messages API
//! continues a trailing assistant message natively). Its chunks are spliced
//! into the client's stream; its attempts join the request's record, so the
//! request is still counted once.

use std::sync::Arc;

use serde_json::json;
use steadfast::events::Events;
use tracing::{Instrument as _, Span};

use crate::attempt;
use crate::engine;
use crate::inbound::Inbound;
use crate::relay::{Resume, Resumed};
use crate::runtime::Route;
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

impl Resumer<'_> {
    /// A [`Resume`] for the streamed request.
    pub(crate) fn resume(&self) -> Resume {
        let upstream = self.upstream.clone();
        let events = self.events.clone();
        let route = Arc::clone(self.route);
        let format = self.inbound.format;
        let fields = self.inbound.fields().clone();
        let (units, request_id, span) =
            (self.units, Arc::clone(self.request_id), self.span.clone());
        Arc::new(move |text: String, tried: Vec<Arc<str>>| {
            let (upstream, events, route) = (upstream.clone(), events.clone(), Arc::clone(&route));
            let (request_id, span) = (Arc::clone(&request_id), span.clone());
            let mut fields = fields.clone();
            Box::pin(async move {
                fields.extend_array(
                    "messages",
                    &[
                        json!({"role": "assistant", "content": text}),
                        json!({"role": "user", "content": CONTINUE}),
                    ],
                );
                let inbound = Inbound::chat(format, fields, true);
                let (inbound, upstream) = (&inbound, &upstream);
                let request_id = &*request_id;
                let served = engine::run(&route, &events, units, &tried, |admission| {
                    let call = inbound.call(admission.target());
                    async move {
                        let mut call = call?;
                        call.continuation = true;
                        attempt::open_stream(upstream, admission, call, request_id).await
                    }
                })
                .instrument(span)
                .await;
                match served {
                    Ok(served) => Resumed {
                        stream: served.values.into_iter().next().map(|(_, stream)| stream),
                        attempts: served.attempts,
                    },
                    Err(failed) => Resumed {
                        stream: None,
                        attempts: failed.attempts,
                    },
                }
            })
        })
    }
}
