//! A client request's top-level fields, each kept as the JSON text the
//! client sent. The gateway reads the few it needs (`model`, `stream`,
//! `max_tokens`, …) and passes the rest through byte for byte: a prompt of
//! many kilobytes is checked once by the parser and copied, never built into
//! a tree of values and written out again.

use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The deepest nesting of arrays and objects a request or an answer may have
/// (the JSON parser's own limit, which a value kept or skipped as text does
/// not get).
pub const MAX_DEPTH: usize = 128;

/// Whether the JSON text `json` nests arrays and objects at most `max`
/// deep: one pass over its bytes, strings skipped.
pub fn nested_within(json: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    for byte in brackets(json) {
        if matches!(byte, b'[' | b'{') {
            depth += 1;
            if depth > max {
                return false;
            }
        } else {
            depth = depth.saturating_sub(1);
        }
    }
    true
}

/// How many arrays and objects the JSON text `json` holds.
fn containers(json: &[u8]) -> u64 {
    brackets(json)
        .filter(|byte| matches!(byte, b'[' | b'{'))
        .count() as u64
}

/// The brackets and braces of the JSON text `json` that are not inside a
/// string (and its escapes).
fn brackets(json: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    json.iter().copied().filter(move |&byte| {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            return false;
        }
        if byte == b'"' {
            in_string = true;
            return false;
        }
        matches!(byte, b'[' | b'{' | b']' | b'}')
    })
}

/// A JSON object's members in the order sent, the last of a repeated name
/// winning (as for any JSON object the gateway parses).
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, Box<RawValue>)>);

/// The JSON kind of a field, read from its first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array, and whether it has no element.
    Array {
        /// `[]`.
        empty: bool,
    },
    /// An object.
    Object,
}

impl Fields {
    /// Parses a JSON object whose fields nest at most [`MAX_DEPTH`] deep (a
    /// field kept as its text is not built, so the parser's own depth limit
    /// would not apply to it: it would be lost where it is read later).
    pub fn parse(bytes: &[u8]) -> Result<Fields, serde_json::Error> {
        let fields: Fields = serde_json::from_slice(bytes)?;
        if let Some((name, _)) = fields
            .0
            .iter()
            .find(|(_, raw)| !nested_within(raw.get().as_bytes(), MAX_DEPTH - 1))
        {
            return Err(serde::de::Error::custom(format!(
                "field `{name}` nests arrays and objects deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(fields)
    }

    /// About how many bytes of memory it takes to convert the request to
    /// another format: its text a few times over, and a tree node for each
    /// of its arrays and objects (which, built as values, weigh far more than
    /// their text: a request of many tiny content blocks costs tens of times
    /// its size).
    pub fn translation_cost(&self) -> u64 {
        const PER_BYTE: u64 = 4;
        const PER_CONTAINER: u64 = 1024;
        self.0
            .iter()
            .map(|(name, raw)| {
                let text = (name.len() + raw.get().len()) as u64;
                let containers = containers(raw.get().as_bytes());
                text.saturating_mul(PER_BYTE)
                    .saturating_add(containers.saturating_mul(PER_CONTAINER))
            })
            .fold(0, u64::saturating_add)
    }

    /// The JSON text of field `key`.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, raw)| raw.get())
    }

    /// The fields' names, in the order sent.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }

    /// Whether the object has field `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    /// The kind of field `key`.
    pub fn kind(&self, key: &str) -> Option<Kind> {
        let raw = self.raw(key)?;
        Some(match raw.as_bytes().first() {
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'"') => Kind::String,
            Some(b'[') => Kind::Array {
                empty: raw[1..].trim_start().starts_with(']'),
            },
            Some(b'{') => Kind::Object,
            _ => Kind::Number,
        })
    }

    /// Field `key` read as a `T`; `None` if it is missing or is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_str(self.raw(key)?).ok()
    }

    /// Every field as a JSON value (for converting the request to another
    /// format).
    pub fn to_map(&self) -> Map<String, Value> {
        self.0
            .iter()
            .filter_map(|(key, raw)| Some((key.clone(), serde_json::from_str(raw.get()).ok()?)))
            .collect()
    }

    /// Appends `items` to the array in field `key` (which must be an array).
    pub fn extend_array(&mut self, key: &str, items: &[Value]) {
        let Some((_, raw)) = self.0.iter_mut().find(|(name, _)| name == key) else {
            return;
        };
        let Some(open) = raw.get().strip_suffix(']') else {
            return;
        };
        let mut text = open.to_owned();
        let mut first = open[1..].trim().is_empty();
        for item in items {
            if !first {
                text.push(',');
            }
            first = false;
            text.push_str(&item.to_string());
        }
        text.push(']');
        if let Ok(extended) = RawValue::from_string(text) {
            *raw = extended;
        }
    }

    /// The object written back with field `model` set to `model` (added
    /// first if absent), every other field as sent.
    pub fn to_json_with_model(&self, model: &str) -> Vec<u8> {
        self.to_json_with(&[("model", Some(model))])
    }

    /// The object written back with each field of `changes` set to its
    /// string (added first if absent) or, for `None`, left out; every other
    /// field as sent.
    pub fn to_json_with(&self, changes: &[(&str, Option<&str>)]) -> Vec<u8> {
        let size: usize = self
            .0
            .iter()
            .map(|(key, raw)| key.len() + raw.get().len() + 4)
            .chain(
                changes
                    .iter()
                    .map(|(key, value)| key.len() + value.map_or(0, str::len) + 6),
            )
            .sum();
        let mut out = Vec::with_capacity(size + 2);
        out.push(b'{');
        let member = |out: &mut Vec<u8>, key: &str| {
            if out.len() > 1 {
                out.push(b',');
            }
            write_string(out, key);
            out.push(b':');
        };
        for (key, value) in changes {
            if let (Some(value), false) = (value, self.contains(key)) {
                member(&mut out, key);
                write_string(&mut out, value);
            }
        }
        for (key, raw) in &self.0 {
            match changes.iter().find(|(changed, _)| changed == key) {
                Some((_, None)) => {}
                Some((_, Some(value))) => {
                    member(&mut out, key);
                    write_string(&mut out, value);
                }
                None => {
                    member(&mut out, key);
                    out.extend_from_slice(raw.get().as_bytes());
                }
            }
        }
        out.push(b'}');
        out
    }
}

/// Writes `text` as a JSON string.
fn write_string(out: &mut Vec<u8>, text: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fields, D::Error> {
        struct Members;

        impl<'de> Visitor<'de> for Members {
            type Value = Fields;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    match fields.iter_mut().find(|(name, _)| *name == key) {
                        Some((_, earlier)) => *earlier = value,
                        None => fields.push((key, value)),
                    }
                }
                Ok(Fields(fields))
            }
        }

        deserializer.deserialize_map(Members)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(text: &str) -> Fields {
        Fields::parse(text.as_bytes()).unwrap()
    }

    fn written(fields: &Fields, model: &str) -> Value {
        serde_json::from_slice(&fields.to_json_with_model(model)).unwrap()
    }

    #[test]
    fn the_model_is_replaced_and_every_other_field_kept_as_sent() {
        let request = fields(
            r#"{"model": "chat", "messages": [{"role": "user", "content": "h\u00e9 \"q\""}], "x_vendor": {"a": 1.50}}"#,
        );
        let body = String::from_utf8(request.to_json_with_model("gpt-4o")).unwrap();
        assert_eq!(
            body,
            r#"{"model":"gpt-4o","messages":[{"role": "user", "content": "h\u00e9 \"q\""}],"x_vendor":{"a": 1.50}}"#
        );
    }

    #[test]
    fn a_missing_model_is_added_and_odd_keys_are_escaped() {
        assert_eq!(
            written(&fields(r#"{"input": "x", "a\"b": 1}"#), "m\"1"),
            json!({"model": "m\"1", "input": "x", "a\"b": 1})
        );
        assert_eq!(written(&fields("{}"), "m"), json!({"model": "m"}));
    }

    #[test]
    fn fields_are_set_or_left_out_in_order() {
        let request = fields(r#"{"model": "chat", "max_tokens": 5, "anthropic_version": "x"}"#);
        let body = request.to_json_with(&[("model", None), ("anthropic_version", Some("v\"2"))]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"max_tokens":5,"anthropic_version":"v\"2"}"#
        );
        let body =
            fields(r#"{"max_tokens": 5}"#).to_json_with(&[("model", None), ("v", Some("1"))]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"v":"1","max_tokens":5}"#
        );
    }

    #[test]
    fn a_repeated_field_keeps_its_last_value() {
        let request = fields(r#"{"model": "a", "stream": true, "model": "b"}"#);
        assert_eq!(request.get::<String>("model").as_deref(), Some("b"));
        assert_eq!(
            written(&request, "m"),
            json!({"model": "m", "stream": true})
        );
    }

    #[test]
    fn kinds_and_typed_reads() {
        let request = fields(
            r#"{"n": null, "b": false, "i": 12, "f": -1.5, "s": "x", "e": [ ], "a": [1], "o": {}}"#,
        );
        assert_eq!(request.kind("n"), Some(Kind::Null));
        assert_eq!(request.kind("b"), Some(Kind::Bool));
        assert_eq!(request.kind("i"), Some(Kind::Number));
        assert_eq!(request.kind("f"), Some(Kind::Number));
        assert_eq!(request.kind("s"), Some(Kind::String));
        assert_eq!(request.kind("e"), Some(Kind::Array { empty: true }));
        assert_eq!(request.kind("a"), Some(Kind::Array { empty: false }));
        assert_eq!(request.kind("o"), Some(Kind::Object));
        assert_eq!(request.kind("missing"), None);
        assert_eq!(request.get::<u64>("i"), Some(12));
        assert_eq!(request.get::<u64>("f"), None);
        assert_eq!(request.get::<bool>("b"), Some(false));
        assert_eq!(
            request.to_map(),
            serde_json::from_str::<Map<String, Value>>(
                r#"{"n": null, "b": false, "i": 12, "f": -1.5, "s": "x", "e": [], "a": [1], "o": {}}"#
            )
            .unwrap()
        );
    }

    #[test]
    fn arrays_are_extended_in_place() {
        let mut request = fields(r#"{"messages": [{"role": "user"}], "e": [ ]}"#);
        request.extend_array("messages", &[json!({"role": "assistant"}), json!(2)]);
        request.extend_array("e", &[json!(1)]);
        request.extend_array("missing", &[json!(1)]);
        assert_eq!(
            Value::Object(request.to_map()),
            json!({"messages": [{"role": "user"}, {"role": "assistant"}, 2], "e": [1]})
        );
    }

    #[test]
    fn only_objects_parse() {
        for text in ["[1]", "\"x\"", "{\"a\":", "{\"a\": tru}"] {
            assert!(Fields::parse(text.as_bytes()).is_err(), "{text}");
        }
    }
}
