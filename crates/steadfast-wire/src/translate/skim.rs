//! Reading an OpenAI chunk passed through just far enough to know what it
//! is: well-formed or not, and whether it carries anything the gateway must
//! act on (an error, usage, a finish reason). Most chunks carry only text
//! and are relayed as they came, without building them.

use std::fmt;

use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};

/// What a skimmed chunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Skimmed {
    /// Not JSON, or not an object.
    Malformed,
    /// Text (or other content) only: relay it as it came.
    Plain,
    /// An error, usage or a finish reason: decode it.
    Notable,
}

/// The fields of a chunk the skim looks at; the rest is validated and skipped.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Finishing,
    usage: Option<IgnoredAny>,
    error: Option<IgnoredAny>,
}

/// Whether any choice of a chunk names a finish reason.
#[derive(Default)]
struct Finishing(bool);

/// One choice, as far as the skim reads it.
#[derive(Deserialize)]
struct Choice {
    finish_reason: Option<IgnoredAny>,
}

impl<'de> Deserialize<'de> for Finishing {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Choices;
        impl<'de> Visitor<'de> for Choices {
            type Value = Finishing;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of choices")
            }

            fn visit_unit<E>(self) -> Result<Finishing, E> {
                Ok(Finishing(false))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Finishing, A::Error> {
                let mut finishing = false;
                while let Some(choice) = seq.next_element::<Choice>()? {
                    finishing |= choice.finish_reason.is_some();
                }
                Ok(Finishing(finishing))
            }
        }
        deserializer.deserialize_any(Choices)
    }
}

/// Skims one chunk's data (`[DONE]`, the end, is notable).
pub(super) fn skim(data: &str) -> Skimmed {
    if data.trim() == "[DONE]" {
        return Skimmed::Notable;
    }
    match serde_json::from_str::<Chunk>(data) {
        Err(_) => Skimmed::Malformed,
        Ok(chunk) if chunk.choices.0 || chunk.usage.is_some() || chunk.error.is_some() => {
            Skimmed::Notable
        }
        Ok(_) => Skimmed::Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_told_apart_by_what_they_carry() {
        let text =
            r#"{"id":"c","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#;
        assert_eq!(skim(text), Skimmed::Plain);
        let finish = r#"{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}"#;
        assert_eq!(skim(finish), Skimmed::Notable);
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":1}}"#;
        assert_eq!(skim(usage), Skimmed::Notable);
        assert_eq!(skim(r#"{"choices":[],"usage":null}"#), Skimmed::Plain);
        assert_eq!(skim(r#"{"error":{"message":"x"}}"#), Skimmed::Notable);
        assert_eq!(
            skim(r#"{"id": "c", "choices": [{"delta": {"content": "#),
            Skimmed::Malformed
        );
        assert_eq!(skim("[1,2]"), Skimmed::Malformed);
        assert_eq!(skim(r#"{"choices":null}"#), Skimmed::Plain);
        assert_eq!(skim("[DONE]"), Skimmed::Notable);
    }
}
