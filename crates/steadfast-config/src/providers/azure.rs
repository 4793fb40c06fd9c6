//! Azure OpenAI's checks: an `api_key` or a Microsoft Entra ID
//! `bearer_token` (not both), and a well-formed `api_version`.

use crate::types::ProviderConfig;

/// What an Azure provider needs.
pub(super) fn problems(
    provider: &ProviderConfig,
    path: &str,
    report: &mut impl FnMut(String, String),
) {
    match (&provider.api_key, &provider.bearer_token) {
        (None, None) => report(
            path.to_owned(),
            "an azure provider needs `api_key` or `bearer_token`".into(),
        ),
        (Some(_), Some(_)) => report(
            format!("{path}.bearer_token"),
            "give `api_key` or `bearer_token`, not both".into(),
        ),
        _ => {}
    }
    if provider
        .bearer_token
        .as_ref()
        .is_some_and(|t| t.expose().is_empty())
    {
        report(format!("{path}.bearer_token"), "is empty".into());
    }
    if let Some(version) = &provider.api_version {
        if version.is_empty()
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            report(
                format!("{path}.api_version"),
                "not an api-version: write e.g. \"2024-10-21\"".into(),
            );
        }
    }
}
