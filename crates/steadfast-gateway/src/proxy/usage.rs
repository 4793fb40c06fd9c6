//! Token usage an upstream reports with an answer (the `usage` object of a
//! plain answer or of a stream's last chunk).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Tokens one answer used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub input: u64,
    /// Completion tokens.
    pub output: u64,
    /// Total tokens, as reported (else input plus output).
    pub total: u64,
}

impl Usage {
    /// The usage an OpenAI answer or chunk reports (or an Anthropic-style
    /// `input_tokens`/`output_tokens` pair), if it reports any count.
    pub fn of(counts: &Counts) -> Option<Usage> {
        let input = counts.prompt_tokens.or(counts.input_tokens);
        let output = counts.completion_tokens.or(counts.output_tokens);
        if input.is_none() && output.is_none() && counts.total_tokens.is_none() {
            return None;
        }
        let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
        Some(Usage {
            input,
            output,
            total: counts.total_tokens.unwrap_or(input + output),
        })
    }
}

/// The counts of a `usage` object, read straight from the JSON text without
/// building a tree of it. Keys it does not know are skipped, a count that is
/// not an unsigned integer reads as absent, and a `usage` that is not an
/// object reads as no counts: odd usage never fails an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    total_tokens: Option<u64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
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

    fn usage_of(json: &str) -> Option<Usage> {
        Usage::of(&serde_json::from_str::<Counts>(json).unwrap())
    }

    #[test]
    fn reads_chat_and_embedding_usage() {
        assert_eq!(
            usage_of(r#"{"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}"#),
            Some(Usage {
                input: 3,
                output: 5,
                total: 8
            })
        );
        assert_eq!(
            usage_of(r#"{"prompt_tokens": 4, "total_tokens": 4}"#).map(|u| (u.input, u.output)),
            Some((4, 0))
        );
        assert_eq!(
            usage_of(r#"{"input_tokens": 2, "output_tokens": 7}"#),
            Some(Usage {
                input: 2,
                output: 7,
                total: 9
            })
        );
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
            assert_eq!(usage_of(none), None, "{none}");
        }
        assert_eq!(
            usage_of(
                r#"{"prompt_tokens": 3.5, "completion_tokens": -1, "total_tokens": "9",
                    "prompt_tokens_details": {"cached_tokens": 2}, "output_tokens": [1]}"#
            ),
            None
        );
        // The last of a repeated key counts, as in a parsed object.
        assert_eq!(
            usage_of(r#"{"prompt_tokens": 1, "prompt_tokens": 4}"#).map(|u| u.input),
            Some(4)
        );
        assert_eq!(
            usage_of(r#"{"prompt_tokens": 3, "completion_tokens": null}"#)
                .map(|u| (u.input, u.output, u.total)),
            Some((3, 0, 3))
        );
    }
}
