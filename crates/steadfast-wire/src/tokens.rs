//! The tokens one answer used, as an upstream reports them (the `usage`
//! object of a plain answer or of a stream's last chunk), for metrics and
//! rate-limit corrections.

use crate::Usage;
use crate::counts::Counts;

/// Tokens one answer used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Prompt tokens.
    pub input: u64,
    /// Completion tokens.
    pub output: u64,
    /// Total tokens, as reported (else input plus output).
    pub total: u64,
}

impl Tokens {
    /// The tokens an OpenAI answer or chunk reports (or an Anthropic-style
    /// `input_tokens`/`output_tokens` pair), if it reports any count.
    pub fn of(counts: &Counts) -> Option<Tokens> {
        let input = counts.prompt_tokens.or(counts.input_tokens);
        let output = counts.completion_tokens.or(counts.output_tokens);
        if input.is_none() && output.is_none() && counts.total_tokens.is_none() {
            return None;
        }
        let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
        Some(Tokens {
            input,
            output,
            total: counts.total_tokens.unwrap_or(input + output),
        })
    }
}

/// Tokens in `bytes` bytes of text, roughly: about four bytes a token, as
/// rate limits estimate prompts before the upstream says.
pub fn estimate(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(4)
}

impl From<Usage> for Tokens {
    fn from(usage: Usage) -> Tokens {
        Tokens {
            input: usage.input,
            output: usage.output,
            total: usage.total(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage_of(json: &str) -> Option<Tokens> {
        Tokens::of(&serde_json::from_str::<Counts>(json).unwrap())
    }

    #[test]
    fn reads_chat_and_embedding_usage() {
        assert_eq!(
            usage_of(r#"{"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}"#),
            Some(Tokens {
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
            Some(Tokens {
                input: 2,
                output: 7,
                total: 9
            })
        );
        assert_eq!(
            usage_of(r#"{"prompt_tokens": 3, "completion_tokens": null}"#)
                .map(|u| (u.input, u.output, u.total)),
            Some((3, 0, 3))
        );
        assert_eq!(usage_of("null"), None);
        assert_eq!(usage_of(r#"{"total_tokens": 2.5}"#), None);
    }
}
