//! [`Proxy::serve`]: one client request on one route, from the attempt loop
//! to the answer the client gets, with its record finished when that answer
//! ends.

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use steadfast_wire::Format;
use steadfast_wire::openai::quorum;
use tracing::Instrument as _;

use steadfast_config::{CacheMode, Priority};

use crate::cache::CachePlan;
use crate::engine::{self, Failed};
use crate::inbound::Inbound;
use crate::outcome::{self, Outcome};
use crate::record::RequestRecord;
use crate::relay::OpenStream;
use crate::reply::{Answer, Reply, Source};
use crate::resume::Resumer;
use crate::runtime::shed::Shed;
use crate::runtime::{Route, RouteStrategy};
use crate::session::StreamSession;
use crate::telemetry::trace;
use crate::{Proxy, attempt, replayed};

/// A client request, parsed as far as routing needs.
#[derive(Debug)]
pub struct Request<'a> {
    /// What the client sent.
    pub inbound: Inbound,
    /// Tokens it is estimated to use, for rate limits.
    pub units: u64,
    /// Its id, logged and sent upstream.
    pub request_id: &'a str,
    /// Its headers (a `traceparent` makes its trace a child of the client's;
    /// `Cache-Control` says how it may use the route's cache).
    pub headers: &'a HeaderMap,
    /// How it fares when the route sheds load.
    pub priority: Priority,
    /// The client that sent it (by its key), if clients are configured:
    /// a route's cache kept per client answers it from its own answers only.
    pub client: Option<&'a str>,
}

/// Why a request got no answer.
#[derive(Debug)]
pub enum Refused {
    /// The route does not take this kind of request; nothing was counted.
    Unsupported(String),
    /// No target answered (counted, with every attempt).
    Failed(Failed),
    /// The route sheds this request's priority now (counted).
    Shed(Shed),
}

/// What one attempt produced.
enum Got {
    Plain(Bytes),
    Stream(Box<OpenStream>),
}

impl Proxy {
    /// Serves `request` on `route`: the route's strategy over its targets,
    /// every target sent the request in its own format, the answer written
    /// in the client's. The request is counted, logged and traced once, when
    /// its answer has ended.
    pub async fn serve(&self, route: &Arc<Route>, request: Request<'_>) -> Result<Reply, Refused> {
        let Request {
            mut inbound,
            units,
            request_id,
            headers,
            priority,
            client,
        } = request;
        inbound.translating_within(self.translating.clone());
        if matches!(route.strategy, RouteStrategy::Quorum(_))
            && (inbound.stream || !inbound.is_chat() || inbound.format != Format::Openai)
        {
            return Err(Refused::Unsupported(format!(
                "Route {:?} gathers answers from several models: it serves plain chat completions only (no stream, no embeddings, no Messages API).",
                &*route.name
            )));
        }
        let span = trace::request_span(&route.name, request_id, headers);
        let mut record = RequestRecord::new(route, request_id, inbound.stream, span.clone());
        let plan = route.cache.as_ref().and_then(|cache| {
            let request = (inbound.format, inbound.fields());
            cache.plan(request, inbound.is_chat(), client, headers)
        });
        if let Some(plan) = plan
            .as_ref()
            .filter(|plan| plan.mode() == CacheMode::Normal)
        {
            if let Some(answer) = plan.get().await {
                return Ok(replayed::reply(
                    record,
                    &inbound,
                    &answer,
                    Source::CacheHit,
                    0,
                ));
            }
        }
        if let Some(shedder) = &route.shedder {
            match shedder.admit(priority, &route.targets).await {
                Ok(place) => record.hold(place),
                Err(shed) => {
                    record.finish(Outcome::Shed);
                    return Err(Refused::Shed(shed));
                }
            }
        }
        let capture = plan.as_ref().map(CachePlan::max_entry_bytes);
        let (upstream, inbound_ref) = (&self.upstream, &inbound);
        // The attempt loop is the bulk of a request's state: kept on the heap,
        // so the handler's future (moved whole into its box by the router)
        // stays small.
        let attempts = engine::run(route, &self.events, units, &[], |admission| {
            let call = inbound_ref.call(admission.target()).map(|mut call| {
                call.capture = capture;
                call
            });
            async move {
                let call = call?;
                // Each upstream call's state on the heap too: the loop's
                // future, copied whole into its box, stays small.
                if inbound_ref.stream {
                    Box::pin(attempt::open_stream(upstream, admission, call, request_id))
                        .await
                        .map(|open| Got::Stream(Box::new(open)))
                } else {
                    Box::pin(attempt::plain(upstream, admission, call, request_id))
                        .await
                        .map(Got::Plain)
                }
            }
        });
        let outcome = Box::pin(attempts.instrument(span)).await;
        let served = match outcome {
            Ok(served) => served,
            Err(failed) => {
                record.add_attempts(failed.attempts.iter().cloned());
                let sent = outcome::sent(&failed.attempts);
                let no_answer = inbound.is_chat() && !failed.request_at_fault();
                if no_answer {
                    let stale = match plan
                        .as_ref()
                        .filter(|p| p.mode() == CacheMode::StaleIfError)
                    {
                        Some(plan) => plan.get().await,
                        None => None,
                    };
                    if let Some(answer) = stale {
                        return Ok(replayed::reply(
                            record,
                            &inbound,
                            &answer,
                            Source::Stale,
                            sent,
                        ));
                    }
                    if let Some(last) = &route.settings.last_answer {
                        let answer = replayed::last_answer(last, &route.name, request_id);
                        return Ok(replayed::reply(
                            record,
                            &inbound,
                            &answer,
                            Source::Static,
                            sent,
                        ));
                    }
                }
                record.finish(failed.reason.outcome());
                return Err(Refused::Failed(failed));
            }
        };
        record.answered();
        let dropped = served
            .values
            .first()
            .map(|(target, _)| inbound.dropped_for(target))
            .unwrap_or_default();
        let targets: Vec<Arc<str>> = served
            .values
            .iter()
            .map(|(target, _)| Arc::clone(&target.name))
            .collect();
        let attempts = outcome::sent(&served.attempts);
        record.add_attempts(served.attempts);
        let mut values = served.values.into_iter();
        let answer = match (values.next(), values.len()) {
            (Some((_, Got::Stream(open))), 0) => {
                // A continuation is a chat request with `messages` and one
                // answer: other streams (legacy completions, the Responses
                // API, several choices) end where they break.
                let resumable = inbound.is_chat()
                    && inbound.format != Format::Responses
                    && inbound.fields().get::<u64>("n").is_none_or(|n| n <= 1);
                let resume = (route.settings.stream_resume && resumable).then(|| {
                    Resumer {
                        upstream,
                        events: &self.events,
                        route,
                        inbound: &inbound,
                        units,
                        request_id: record.request_id(),
                        span: record.span(),
                    }
                    .resume()
                });
                // At most ten years (the config's bound): no overflow.
                let deadline = record.started() + route.settings.stream_deadline.0;
                let session = StreamSession::new(*open, record, deadline, resume, plan);
                Answer::Stream(Box::pin(session.relay()))
            }
            (Some((_, Got::Plain(body))), 0) => {
                record.finish(Outcome::Served);
                if let Some(plan) = &plan {
                    plan.keep_body(inbound.format, &body);
                }
                Answer::Whole(body)
            }
            (first, _) => {
                let answers: Vec<(Arc<str>, Bytes)> = first
                    .into_iter()
                    .chain(values)
                    .filter_map(|(target, got)| match got {
                        Got::Plain(body) => Some((Arc::clone(&target.name), body)),
                        Got::Stream(_) => None,
                    })
                    .collect();
                let merged = quorum::merge(
                    &format!("chatcmpl-quorum-{request_id}"),
                    &route.name,
                    answers.iter().map(|(name, body)| (&**name, &body[..])),
                );
                record.finish(Outcome::Served);
                Answer::Whole(Bytes::from(merged.to_string()))
            }
        };
        Ok(Reply {
            answer,
            targets,
            attempts,
            source: Source::Upstream,
            dropped,
        })
    }
}
