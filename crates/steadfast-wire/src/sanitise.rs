//! Text that came from a provider, made safe to show a client or write to a
//! log: shortened, with anything that looks like a key masked.

/// The longest upstream message kept, in characters.
const MAX_CHARS: usize = 300;

/// Shortens an upstream message and masks anything that looks like a key.
pub fn sanitise(message: &str) -> String {
    let mut out: String = message
        .split_whitespace()
        .map(|word| if looks_like_key(word) { "***" } else { word })
        .collect::<Vec<_>>()
        .join(" ");
    if out.chars().count() > MAX_CHARS {
        out = out.chars().take(MAX_CHARS).collect::<String>() + "…";
    }
    out
}

/// `sk-…`/`sk_…` keys, and any long run of key-like characters.
fn looks_like_key(word: &str) -> bool {
    (word.starts_with("sk-") || word.starts_with("sk_")) && word.len() > 8
        || (word.len() >= 32
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked_and_long_text_is_cut() {
        assert_eq!(
            sanitise("bad key sk-test-abcdefgh given"),
            "bad key *** given"
        );
        assert_eq!(
            sanitise("token 0123456789abcdef0123456789abcdef here"),
            "token *** here"
        );
        let long = "word ".repeat(100);
        let cut = sanitise(&long);
        assert_eq!(cut.chars().count(), MAX_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
