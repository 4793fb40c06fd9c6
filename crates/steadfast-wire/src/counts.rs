//! The token counts of a `usage` object, read straight from JSON text (or a
//! parsed value) by one lenient visitor: the OpenAI and Anthropic keys, every
//! other key skipped without being built.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Usage;

/// The counts of a `usage` object, read straight from the JSON text without
/// building a tree of it. Keys it does not know are skipped, a count that is
/// not an unsigned integer reads as absent, and a `usage` that is not an
/// object reads as no counts: odd usage never fails an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// OpenAI's `prompt_tokens`.
    pub prompt_tokens: Option<u64>,
    /// OpenAI's `completion_tokens`.
    pub completion_tokens: Option<u64>,
    /// OpenAI's `total_tokens`.
    pub total_tokens: Option<u64>,
    /// Anthropic's `input_tokens` (cached tokens not included).
    pub input_tokens: Option<u64>,
    /// Anthropic's `output_tokens`.
    pub output_tokens: Option<u64>,
    /// Anthropic's `cache_creation_input_tokens`.
    pub cache_creation_input_tokens: Option<u64>,
    /// Anthropic's `cache_read_input_tokens`.
    pub cache_read_input_tokens: Option<u64>,
}

impl Counts {
    /// The counts of a parsed `usage` value (none if it is not an object).
    pub fn of_value(usage: &Value) -> Counts {
        Counts::deserialize(usage).unwrap_or_default()
    }

    /// An Anthropic usage: input counts cached tokens too, as OpenAI's prompt
    /// tokens do. `None` without `input_tokens`.
    pub fn anthropic(&self) -> Option<Usage> {
        let cached = self.cache_creation_input_tokens.unwrap_or(0)
            + self.cache_read_input_tokens.unwrap_or(0);
        Some(Usage {
            input: self.input_tokens? + cached,
            output: self.output_tokens.unwrap_or(0),
        })
    }
}

impl<'de> Deserialize<'de> for Counts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Counts, D::Error> {
        deserializer.deserialize_any(CountsVisitor)
    }
}

/// The keys of a `usage` object that are read.
#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Key {
    PromptTokens,
    CompletionTokens,
    TotalTokens,
    InputTokens,
    OutputTokens,
    CacheCreationInputTokens,
    CacheReadInputTokens,
    #[serde(other)]
    Other,
}

struct CountsVisitor;

impl<'de> Visitor<'de> for CountsVisitor {
    type Value = Counts;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a usage object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Counts, A::Error> {
        let mut counts = Counts::default();
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::PromptTokens => &mut counts.prompt_tokens,
                Key::CompletionTokens => &mut counts.completion_tokens,
                Key::TotalTokens => &mut counts.total_tokens,
                Key::InputTokens => &mut counts.input_tokens,
                Key::OutputTokens => &mut counts.output_tokens,
                Key::CacheCreationInputTokens => &mut counts.cache_creation_input_tokens,
                Key::CacheReadInputTokens => &mut counts.cache_read_input_tokens,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value::<Count>()?.0;
        }
        Ok(counts)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Counts, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(Counts::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Counts, D::Error> {
        Counts::deserialize(deserializer)
    }

    fn visit_none<E: de::Error>(self) -> Result<Counts, E> {
        Ok(Counts::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Counts, E> {
        Ok(Counts::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Counts, E> {
        Ok(Counts::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Counts, E> {
        Ok(Counts::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Counts, E> {
        Ok(Counts::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Counts, E> {
        Ok(Counts::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Counts, E> {
        Ok(Counts::default())
    }
}

/// One count: an unsigned integer, or absent for any other JSON value.
struct Count(Option<u64>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Count, D::Error> {
        deserializer.deserialize_any(CountVisitor)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a token count")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Count, E> {
        Ok(Count(Some(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Count, E> {
        Ok(Count(u64::try_from(value).ok()))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Count, D::Error> {
        Count::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Count, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(Count(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Count, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(Count(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn counts(json: &str) -> Counts {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn odd_usage_reads_as_absent_counts_and_never_fails() {
        for none in [
            "null",
            "{}",
            "[1,{}]",
            "\"x\"",
            "7",
            "true",
            r#"{"other": {"prompt_tokens": 3}}"#,
        ] {
            assert_eq!(counts(none), Counts::default(), "{none}");
        }
        assert_eq!(
            counts(
                r#"{"prompt_tokens": 3.5, "completion_tokens": -1, "total_tokens": "9",
                    "prompt_tokens_details": {"cached_tokens": 2}, "output_tokens": [1]}"#
            ),
            Counts::default()
        );
        // The last of a repeated key counts, as in a parsed object.
        assert_eq!(
            counts(r#"{"prompt_tokens": 1, "prompt_tokens": 4}"#).prompt_tokens,
            Some(4)
        );
    }

    #[test]
    fn anthropic_input_counts_cached_tokens_and_is_required() {
        let usage = json!({"input_tokens": 2, "cache_creation_input_tokens": 5,
                           "cache_read_input_tokens": 10, "output_tokens": 7});
        assert_eq!(
            Counts::of_value(&usage).anthropic(),
            Some(Usage {
                input: 17,
                output: 7
            })
        );
        assert_eq!(
            Counts::of_value(&json!({"output_tokens": 7})).anthropic(),
            None
        );
        assert_eq!(Counts::of_value(&json!(null)).anthropic(), None);
    }
}
