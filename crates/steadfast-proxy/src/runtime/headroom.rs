//! How much of its rate limit a provider says a key has left, read from the
//! headers it answers with: OpenAI's and Azure's `x-ratelimit-remaining-*` /
//! `x-ratelimit-limit-*` (`requests`, `tokens`) and Anthropic's
//! `anthropic-ratelimit-*-remaining` / `-limit` (`requests`, `tokens`,
//! `input-tokens`, `output-tokens`). The scarcer resource counts.

use http::HeaderMap;

/// Header pairs (remaining, limit) that name one limited resource.
const PAIRS: [(&str, &str); 6] = [
    (
        "x-ratelimit-remaining-requests",
        "x-ratelimit-limit-requests",
    ),
    ("x-ratelimit-remaining-tokens", "x-ratelimit-limit-tokens"),
    (
        "anthropic-ratelimit-requests-remaining",
        "anthropic-ratelimit-requests-limit",
    ),
    (
        "anthropic-ratelimit-tokens-remaining",
        "anthropic-ratelimit-tokens-limit",
    ),
    (
        "anthropic-ratelimit-input-tokens-remaining",
        "anthropic-ratelimit-input-tokens-limit",
    ),
    (
        "anthropic-ratelimit-output-tokens-remaining",
        "anthropic-ratelimit-output-tokens-limit",
    ),
];

/// The share (0 to 1) of its rate limit the answer says is left, if it says.
pub(crate) fn headroom(headers: &HeaderMap) -> Option<f64> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    PAIRS
        .iter()
        .filter_map(|(remaining, limit)| {
            let (remaining, limit) = (number(remaining)?, number(limit)?);
            (limit > 0.0).then(|| (remaining / limit).clamp(0.0, 1.0))
        })
        .min_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scarcer_resource_counts_and_no_header_says_nothing() {
        let mut headers = HeaderMap::new();
        assert_eq!(headroom(&headers), None);
        headers.insert("x-ratelimit-limit-requests", "1000".parse().unwrap());
        headers.insert("x-ratelimit-remaining-requests", "900".parse().unwrap());
        headers.insert("x-ratelimit-limit-tokens", "40000".parse().unwrap());
        headers.insert("x-ratelimit-remaining-tokens", "4000".parse().unwrap());
        assert_eq!(headroom(&headers), Some(0.1));
        let mut anthropic = HeaderMap::new();
        anthropic.insert("anthropic-ratelimit-requests-limit", "50".parse().unwrap());
        anthropic.insert(
            "anthropic-ratelimit-requests-remaining",
            "25".parse().unwrap(),
        );
        assert_eq!(headroom(&anthropic), Some(0.5));
    }
}
