//! Stream resumption (`stream_resume: true` on a route): when a stream breaks
//! after text reached the client, the next target is asked to continue it.
//!
//! The continuation request is the client's request with the text so far as
//! an assistant message and an instruction to carry on from there without
//! repeating it — the form every chat API accepts (Anthropic's Messages API
//! continues a trailing assistant message natively). Its chunks are spliced
//! into the client's stream.

use std::sync::Arc;

use serde_json::json;

use super::state::AppState;
use crate::proxy::inbound::Inbound;
use crate::proxy::relay::Resume;
use crate::proxy::{attempt, engine};
use crate::runtime::Route;

/// The instruction appended after the partial answer.
const CONTINUE: &str = "Your previous answer was cut off. Continue it exactly from where it stopped, \
without repeating any of it and without any preamble.";

/// A [`Resume`] for one streamed request on `route`.
pub(super) fn resumer(
    app: &Arc<AppState>,
    route: &Arc<Route>,
    inbound: &Inbound,
    units: u64,
    request_id: &str,
) -> Resume {
    let app = Arc::clone(app);
    let route = Arc::clone(route);
    let format = inbound.format;
    let fields = inbound.fields().clone();
    let request_id = request_id.to_owned();
    Arc::new(move |text: String, tried: Vec<Arc<str>>| {
        let app = Arc::clone(&app);
        let route = Arc::clone(&route);
        let mut fields = fields.clone();
        let request_id = request_id.clone();
        Box::pin(async move {
            fields.extend_array(
                "messages",
                &[
                    json!({"role": "assistant", "content": text}),
                    json!({"role": "user", "content": CONTINUE}),
                ],
            );
            let upstream = &app.upstream;
            let inbound = Inbound::chat(format, fields, true);
            let inbound = &inbound;
            let request_id = request_id.as_str();
            let served = engine::run(&route, &app.events, units, &tried, |admission| {
                let call = inbound.call(admission.target());
                async move {
                    let mut call = call?;
                    call.continuation = true;
                    attempt::open_stream(upstream, admission, call, request_id).await
                }
            })
            .await
            .ok()?;
            served.values.into_iter().next().map(|(_, stream)| stream)
        })
    })
}
