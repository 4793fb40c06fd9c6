//! Checks of a provider block that depend on its kind: the credentials and
//! settings each kind needs, and refuses the settings of another kind.

use crate::types::{Config, ProviderConfig, ProviderKind};

/// What one kind of provider needs and allows beyond `base_url` and `api_key`.
pub(crate) fn kind_problems(
    provider: &ProviderConfig,
    path: &str,
    report: &mut impl FnMut(String, String),
) {
    let kind = provider.kind.as_str();
    match provider.kind {
        ProviderKind::Azure => {
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
        ProviderKind::Gemini if provider.api_key.is_none() => report(
            format!("{path}.api_key"),
            "a gemini provider needs `api_key` (a Google AI Studio key)".into(),
        ),
        _ => {}
    }
    if provider.kind != ProviderKind::Azure {
        if provider.api_version.is_some() {
            report(
                format!("{path}.api_version"),
                format!("only applies to `kind: azure`, not `{kind}`"),
            );
        }
        if provider.bearer_token.is_some() {
            report(
                format!("{path}.bearer_token"),
                format!("only applies to `kind: azure`; a `{kind}` provider takes `api_key`"),
            );
        }
    }
}

/// Azure deployment names go into the URL path: letters, digits, `-`, `_`, `.`.
pub(crate) fn deployment_problems(config: &Config, report: &mut impl FnMut(String, String)) {
    for (name, model) in &config.models {
        let Some(provider) = config.providers.get(&model.provider) else {
            continue;
        };
        let url_safe = model
            .model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if provider.kind == ProviderKind::Azure && provider.api_version.is_some() && !url_safe {
            report(
                format!("models.{name}.model"),
                "an Azure deployment name: letters, digits, '-', '_' and '.' only".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn problems(provider: &str, model: &str) -> String {
        let yaml = format!(
            "providers:\n  p: {{ {provider} }}\nmodels:\n  m: {{ provider: p, model: {model} }}\nroutes:\n  chat: {{ targets: [m] }}\n"
        );
        match crate::parse(&yaml, Path::new("steadfast.yaml"), &|_| None) {
            Ok(_) => String::new(),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn each_kind_gets_what_it_needs_and_nothing_of_another() {
        let azure = "kind: azure, base_url: \"https://r.openai.azure.com\"";
        assert_eq!(
            problems(&format!("{azure}, api_key: k-123456789"), "dep"),
            ""
        );
        assert_eq!(
            problems(
                &format!("{azure}, bearer_token: t, api_version: \"2024-10-21\""),
                "dep-1.v2"
            ),
            ""
        );
        assert_eq!(
            problems(azure, "dep"),
            "steadfast.yaml: providers.p: an azure provider needs `api_key` or `bearer_token`"
        );
        assert!(
            problems(&format!("{azure}, api_key: k, bearer_token: t"), "dep")
                .contains("providers.p.bearer_token: give `api_key` or `bearer_token`, not both")
        );
        assert!(
            problems(
                &format!("{azure}, api_key: k, api_version: \"2024/10\""),
                "dep"
            )
            .contains("providers.p.api_version: not an api-version")
        );
        assert!(
            problems(
                &format!("{azure}, api_key: k, api_version: \"2024-10-21\""),
                "\"my dep\""
            )
            .contains("models.m.model: an Azure deployment name")
        );
        let gemini = "kind: gemini, base_url: \"https://generativelanguage.googleapis.com\"";
        assert_eq!(
            problems(
                &format!("{gemini}, api_key: g-123456789"),
                "gemini-2.0-flash"
            ),
            ""
        );
        assert!(
            problems(gemini, "gemini-2.0-flash")
                .contains("providers.p.api_key: a gemini provider needs `api_key`")
        );
        let openai = "kind: openai, base_url: \"https://api.openai.com/v1\"";
        assert!(
            problems(&format!("{openai}, api_version: \"2024-10-21\""), "gpt")
                .contains("providers.p.api_version: only applies to `kind: azure`, not `openai`")
        );
        assert!(
            problems(&format!("{openai}, bearer_token: t"), "gpt")
                .contains("providers.p.bearer_token: only applies to `kind: azure`")
        );
    }
}
