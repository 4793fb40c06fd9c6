//! Gemini's checks: an API key.

use crate::types::ProviderConfig;

/// What a Gemini provider needs: `api_key` (a Google AI Studio key).
pub(super) fn problems(
    provider: &ProviderConfig,
    path: &str,
    report: &mut impl FnMut(String, String),
) {
    if provider.api_key.is_none() {
        report(
            format!("{path}.api_key"),
            "a gemini provider needs `api_key` (a Google AI Studio key)".into(),
        );
    }
}
