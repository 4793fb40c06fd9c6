//! The answer of a quorum route: the OpenAI chat completions gathered from
//! several models, merged into one completion with a choice per model.

use serde_json::{Value, json};

/// One chat completion holding the first choice of every answer, each choice
/// naming the model (`model`, the gateway's name of the target) and the
/// upstream model (`upstream_model`) that wrote it, with the usage summed.
/// `answers` are each target's name and its answer body; an unreadable body
/// gives an empty choice rather than failing the others.
pub fn merge<'a>(
    id: &str,
    route: &str,
    answers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Value {
    let mut choices = Vec::new();
    let (mut prompt, mut completion) = (0, 0);
    for (index, (target, body)) in answers.into_iter().enumerate() {
        let answer: Value = serde_json::from_slice(body).unwrap_or_default();
        let mut choice = answer["choices"][0].clone();
        choice["index"] = index.into();
        choice["model"] = Value::String(target.to_owned());
        choice["upstream_model"] = answer["model"].clone();
        choices.push(choice);
        prompt += answer["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
        completion += answer["usage"]["completion_tokens"].as_u64().unwrap_or(0);
    }
    json!({
        "id": id,
        "object": "chat.completion",
        "created": crate::clock::unix_secs(),
        "model": route,
        "choices": choices,
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_choice_per_model_with_usage_summed() {
        let a = br#"{"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"yes"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
        let b = br#"{"model":"llama3","choices":[{"index":0,"message":{"role":"assistant","content":"no"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":2}}"#;
        let merged = merge(
            "chatcmpl-quorum-1",
            "vote",
            [("gpt", &a[..]), ("llama", &b[..])],
        );
        assert_eq!(merged["model"], "vote");
        assert_eq!(merged["choices"][1]["index"], 1);
        assert_eq!(merged["choices"][1]["model"], "llama");
        assert_eq!(merged["choices"][1]["upstream_model"], "llama3");
        assert_eq!(merged["choices"][0]["message"]["content"], "yes");
        assert_eq!(merged["usage"]["total_tokens"], 10);
    }
}
