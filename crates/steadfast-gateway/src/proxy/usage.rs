//! Token usage an upstream reports with an answer (the `usage` object of a
//! plain answer or of a stream's last chunk).

use serde_json::Value;

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
    /// The `usage` object of an OpenAI answer or chunk (or an Anthropic
    /// answer's `input_tokens`/`output_tokens`), if it reports any.
    pub fn of(usage: &Value) -> Option<Usage> {
        let usage = Some(usage).filter(|usage| usage.is_object())?;
        let count = |key: &str| usage.get(key).and_then(Value::as_u64);
        let (input, output, total) = (
            count("prompt_tokens").or_else(|| count("input_tokens")),
            count("completion_tokens").or_else(|| count("output_tokens")),
            count("total_tokens"),
        );
        if input.is_none() && output.is_none() && total.is_none() {
            return None;
        }
        let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
        Some(Usage {
            input,
            output,
            total: total.unwrap_or(input + output),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_chat_and_embedding_usage() {
        let chat = json!({"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8});
        assert_eq!(
            Usage::of(&chat),
            Some(Usage {
                input: 3,
                output: 5,
                total: 8
            })
        );
        let embedding = json!({"prompt_tokens": 4, "total_tokens": 4});
        assert_eq!(
            Usage::of(&embedding).map(|u| (u.input, u.output)),
            Some((4, 0))
        );
        let anthropic = json!({"input_tokens": 2, "output_tokens": 7});
        assert_eq!(
            Usage::of(&anthropic),
            Some(Usage {
                input: 2,
                output: 7,
                total: 9
            })
        );
        assert_eq!(Usage::of(&json!(null)), None);
        assert_eq!(Usage::of(&json!({})), None);
    }
}
