//! The key of a cached answer: where it was asked (the route, what answers
//! it — each target's provider, address and model — and, for a cache kept
//! per client, the client), the client's format and the request normalised — its fields in name order, each value re-written
//! without spacing and with object keys in order — leaving out what never
//! changes the answer (streaming, the end user's id, metadata). A request
//! that asks for several choices or for log-probabilities is not cached (the
//! kept form holds one answer's text and calls), nor one that samples unless
//! the route says so.

use serde_json::Value;
use sha2::{Digest, Sha256};
use steadfast_wire::fields::{Fields, Kind};
use steadfast_wire::format::Format;

/// A cached answer's key: a SHA-256 digest.
pub type CacheKey = [u8; 32];

/// Fields that never change the answer.
const IGNORED: [&str; 8] = [
    "stream",
    "stream_options",
    "user",
    "metadata",
    "store",
    "service_tier",
    "safety_identifier",
    "prompt_cache_key",
];

/// Fields whose answer the kept form cannot hold, or that stand for state
/// kept elsewhere: extended thinking (its signed blocks must go back to the
/// provider), audio, a Responses conversation, a background response.
const UNCACHEABLE: [&str; 5] = [
    "thinking",
    "modalities",
    "audio",
    "conversation",
    "background",
];

/// The key of a request of `format` asked at `place` (the route, what
/// answers it, the client when kept per client), if its answer may be kept;
/// `sampled` allows requests that sample (a `temperature` above 0, or none).
pub fn key(place: &[&str], format: Format, fields: &Fields, sampled: bool) -> Option<CacheKey> {
    if !cacheable(fields, sampled) {
        return None;
    }
    let mut names: Vec<&str> = fields
        .names()
        .filter(|name| !IGNORED.contains(name))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut digest = Sha256::new();
    // Each part with its length first, so no two requests hash the same parts.
    let mut part = |bytes: &[u8]| {
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    };
    for where_asked in place {
        part(where_asked.as_bytes());
    }
    part(format.as_str().as_bytes());
    for name in names {
        let raw = fields.raw(name)?;
        let value: Value = serde_json::from_str(raw).ok()?;
        part(name.as_bytes());
        part(value.to_string().as_bytes());
    }
    Some(digest.finalize().into())
}

/// Whether the answer to `fields` may be kept.
fn cacheable(fields: &Fields, sampled: bool) -> bool {
    let several = fields.get::<u64>("n").is_some_and(|n| n > 1)
        || fields.get::<u64>("candidate_count").is_some_and(|n| n > 1);
    let logprobs = fields.get::<bool>("logprobs") == Some(true)
        || fields.get::<u64>("top_logprobs").is_some_and(|n| n > 0);
    let samples = fields.get::<f64>("temperature").is_none_or(|t| t > 0.0);
    let beyond = UNCACHEABLE.iter().any(|name| {
        fields.kind(name).is_some_and(|kind| {
            !matches!(kind, Kind::Null | Kind::Bool) || fields.get(name) == Some(true)
        })
    });
    !several && !logprobs && !beyond && (sampled || !samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> Fields {
        Fields::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn the_same_request_however_written_has_one_key() {
        let a = fields(
            r#"{"model":"chat","temperature":0,"messages":[{"role":"user","content":"hi"}],"stream":true,"user":"u1"}"#,
        );
        let b = fields(
            r#"{ "messages" : [ { "content" : "hi", "role" : "user" } ], "temperature": 0, "model": "chat", "metadata": {"x": 1} }"#,
        );
        assert_eq!(
            key(&["chat"], Format::Openai, &a, false),
            key(&["chat"], Format::Openai, &b, false)
        );
        assert!(key(&["chat"], Format::Openai, &a, false).is_some());
    }

    #[test]
    fn what_changes_the_answer_changes_the_key() {
        let base =
            r#"{"model":"chat","temperature":0,"messages":[{"role":"user","content":"hi"}]}"#;
        let one = key(&["chat"], Format::Openai, &fields(base), false);
        for other in [
            r#"{"model":"chat","temperature":0,"messages":[{"role":"user","content":"hello"}]}"#,
            r#"{"model":"chat","temperature":0,"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#,
            r#"{"model":"chat","temperature":0,"tools":[],"messages":[{"role":"user","content":"hi"}]}"#,
        ] {
            assert_ne!(
                one,
                key(&["chat"], Format::Openai, &fields(other), false),
                "{other}"
            );
        }
        assert_ne!(one, key(&["other"], Format::Openai, &fields(base), false));
        assert_ne!(one, key(&["chat"], Format::Anthropic, &fields(base), false));
    }

    #[test]
    fn the_place_asked_is_part_of_the_key() {
        let asked = fields(r#"{"model":"chat","temperature":0,"messages":[]}"#);
        let at = |place: &[&str]| key(place, Format::Openai, &asked, false).unwrap();
        let here = at(&["chat", "m0\0p0\0https://a\0gpt-4o", ""]);
        assert_ne!(
            here,
            at(&["chat", "m0\0p0\0https://a\0gpt-4.1", ""]),
            "another model"
        );
        assert_ne!(
            here,
            at(&["chat", "m0\0p0\0https://a\0gpt-4o", "team-a"]),
            "a client"
        );
        assert_ne!(
            at(&["ab", ""]),
            at(&["a", "b"]),
            "parts cannot run together"
        );
    }

    #[test]
    fn names_and_values_cannot_run_into_each_other() {
        let apart = fields(r#"{"model":"chat","temperature":0,"stop":"S"}"#);
        let joined =
            fields(r#"{"model":"chat","temperature":0,"stop\u0000\"S\"\u0000temperature":0}"#);
        assert_ne!(
            key(&["chat"], Format::Openai, &apart, false),
            key(&["chat"], Format::Openai, &joined, false)
        );
        let off = fields(r#"{"model":"chat","temperature":0,"background":false,"input":"hi"}"#);
        assert!(key(&["chat"], Format::Responses, &off, false).is_some());
    }

    #[test]
    fn sampling_several_choices_and_log_probabilities_are_not_cached() {
        let sampling = fields(r#"{"model":"chat","messages":[]}"#);
        assert!(key(&["chat"], Format::Openai, &sampling, false).is_none());
        assert!(key(&["chat"], Format::Openai, &sampling, true).is_some());
        let hot = fields(r#"{"model":"chat","temperature":0.7,"messages":[]}"#);
        assert!(key(&["chat"], Format::Openai, &hot, false).is_none());
        for refused in [
            r#"{"model":"chat","temperature":0,"n":2,"messages":[]}"#,
            r#"{"model":"chat","temperature":0,"logprobs":true,"messages":[]}"#,
            r#"{"model":"chat","temperature":0,"background":true,"input":"hi"}"#,
            r#"{"model":"chat","temperature":0,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[]}"#,
            r#"{"model":"chat","temperature":0,"conversation":"conv_1","input":"hi"}"#,
        ] {
            assert!(
                key(&["chat"], Format::Openai, &fields(refused), true).is_none(),
                "{refused}"
            );
        }
    }
}
