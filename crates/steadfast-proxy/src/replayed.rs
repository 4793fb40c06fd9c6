//! Answers a route has at hand rather than from a model: a cached answer
//! (fresh, or stale when every target failed) or its static last answer,
//! written whole or as a stream in the client's format. Such a request is
//! counted at once: nothing upstream is left to wait for.

use std::sync::Arc;

use steadfast_config::LastAnswerConfig;
use steadfast_wire::{ChatResponse, FinishReason, Usage, replay};

use crate::inbound::Inbound;
use crate::outcome::Outcome;
use crate::record::RequestRecord;
use crate::reply::{Answer, Reply, Source};

/// The reply of an answer at hand, from `source`, after `attempts` calls.
pub(crate) fn reply(
    mut record: RequestRecord,
    inbound: &Inbound,
    answer: &ChatResponse,
    source: Source,
    attempts: usize,
) -> Reply {
    record.answered();
    let outcome = match source {
        Source::CacheHit => Outcome::CacheHit,
        Source::Stale => Outcome::Stale,
        Source::Static | Source::Upstream => Outcome::Static,
    };
    record.finish(outcome);
    let answer = if inbound.stream {
        let events = replay::stream(inbound.format, answer, inbound.include_usage());
        Answer::Stream(Box::pin(futures_util::stream::iter(
            events.into_iter().map(Ok),
        )))
    } else {
        Answer::Whole(replay::whole(inbound.format, answer))
    };
    Reply {
        dropped: Vec::new(),
        answer,
        targets: Vec::new(),
        attempts,
        source,
    }
}

/// A route's static last answer, for request `request_id` on `route`.
pub(crate) fn last_answer(
    last: &LastAnswerConfig,
    route: &Arc<str>,
    request_id: &str,
) -> ChatResponse {
    ChatResponse {
        id: format!("static-{request_id}"),
        model: route.to_string(),
        text: last.message.clone(),
        tool_calls: Vec::new(),
        finish: FinishReason::Degraded,
        usage: Usage::default(),
    }
}
