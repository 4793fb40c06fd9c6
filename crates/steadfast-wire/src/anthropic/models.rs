//! What a Claude model's id says of it, wherever it is served: Anthropic's
//! API (`claude-sonnet-4-5-20250929`), Vertex AI (`claude-sonnet-4-5@20250929`)
//! and Bedrock (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`) name the
//! generation alike.

/// The generation of a Claude model: `(4, 5)` for `claude-sonnet-4-5-…`,
/// `(4, 0)` for `claude-sonnet-4-20250514`, `(3, 5)` for the older
/// `claude-3-5-sonnet-…`; `(0, 0)` when the id names none.
pub fn generation(model: &str) -> (u32, u32) {
    let Some((_, rest)) = model.split_once("claude-") else {
        return (0, 0);
    };
    let mut numbers = rest
        .split(['-', '@'])
        // A tier name (`sonnet`, `opus`, `haiku`) may come first.
        .skip_while(|part| part.chars().all(|c| c.is_ascii_alphabetic()))
        // A version is one or two digits; eight are a date.
        .map_while(|part| part.parse::<u32>().ok().filter(|_| part.len() <= 2));
    let major = numbers.next().unwrap_or(0);
    (major, numbers.next().unwrap_or(0))
}

/// Whether the model takes a JSON schema for its answer (structured
/// outputs: `output_config.format` on Anthropic's API,
/// `outputConfig.textFormat` on Bedrock): Claude 4.5 and later, as
/// Anthropic's and AWS's structured output guides name them.
pub fn takes_json_schema(model: &str) -> bool {
    generation(model) >= (4, 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_are_read_from_every_platforms_ids() {
        let cases = [
            ("claude-sonnet-4-5-20250929", (4, 5)),
            ("claude-sonnet-4-5", (4, 5)),
            ("claude-sonnet-4-5@20250929", (4, 5)),
            ("claude-opus-4-6", (4, 6)),
            ("anthropic.claude-sonnet-4-5-20250929-v1:0", (4, 5)),
            ("us.anthropic.claude-haiku-4-5-20251001-v1:0", (4, 5)),
            ("global.anthropic.claude-opus-4-6-v1", (4, 6)),
            ("claude-sonnet-4-20250514", (4, 0)),
            ("anthropic.claude-opus-4-1-20250805-v1:0", (4, 1)),
            ("anthropic.claude-3-5-sonnet-20240620-v1:0", (3, 5)),
            ("claude-3-5-sonnet@20240620", (3, 5)),
            ("anthropic.claude-3-haiku-20240307-v1:0", (3, 0)),
            ("anthropic.claude-v2:1", (0, 0)),
            ("gpt-4o", (0, 0)),
        ];
        for (id, generation_of_id) in cases {
            assert_eq!(generation(id), generation_of_id, "{id}");
        }
        assert!(takes_json_schema("claude-haiku-4-5"));
        assert!(!takes_json_schema("claude-opus-4-1-20250805"));
    }
}
