//! Graceful degradation: a route's answer cache (fresh hits, stale answers
//! when every target failed, in memory and shared through Redis), its
//! static last answer in every client format, priority shedding, and
//! concurrency limits learned from the providers' answers.

mod adaptive;
mod cache;
mod last_answer;
mod shedding;

use serde_json::{Value, json};

/// A chat request for route `chat` with `content`, deterministic
/// (`temperature: 0`), plus `extra` fields.
pub(crate) fn chat_body(content: &str, extra: Value) -> Value {
    let mut body = json!({"model": "chat", "temperature": 0,
        "messages": [{"role": "user", "content": content}]});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}
