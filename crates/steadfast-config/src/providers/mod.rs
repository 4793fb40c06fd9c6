//! Checks of a provider block that depend on its kind: the credentials and
//! settings each kind needs (one module per kind that needs any), and the
//! settings of another kind refused.

mod azure;
mod bedrock;
mod gemini;
mod vertex;

pub use vertex::{ServiceAccount, read_service_account};

use crate::types::{Config, ProviderConfig, ProviderKind};

/// What one kind of provider needs and allows beyond `base_url` and `api_key`.
pub(crate) fn kind_problems(
    provider: &ProviderConfig,
    path: &str,
    report: &mut impl FnMut(String, String),
) {
    let kind = provider.kind.as_str();
    match provider.kind {
        ProviderKind::Azure => azure::problems(provider, path, report),
        ProviderKind::Gemini => gemini::problems(provider, path, report),
        ProviderKind::Bedrock => bedrock::problems(provider, path, report),
        ProviderKind::Vertex => vertex::problems(provider, path, report),
        ProviderKind::Openai | ProviderKind::Anthropic => {}
    }
    let cloud = matches!(provider.kind, ProviderKind::Bedrock | ProviderKind::Vertex);
    if !cloud && provider.base_url.is_empty() {
        report(format!("{path}.base_url"), "is required".into());
    }
    let keys = [
        (
            "region",
            provider.region.is_some(),
            "bedrock` or `kind: vertex",
        ),
        ("access_key_id", provider.access_key_id.is_some(), "bedrock"),
        (
            "secret_access_key",
            provider.secret_access_key.is_some(),
            "bedrock",
        ),
        ("session_token", provider.session_token.is_some(), "bedrock"),
        ("project", provider.project.is_some(), "vertex"),
        ("publisher", provider.publisher.is_some(), "vertex"),
        (
            "credentials_file",
            provider.credentials_file.is_some(),
            "vertex",
        ),
    ];
    for (key, set, owner) in keys {
        if set && !owner.split("` or `kind: ").any(|k| k == kind) {
            report(
                format!("{path}.{key}"),
                format!("only applies to `kind: {owner}`, not `{kind}`"),
            );
        }
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

/// Fills in the credentials of Bedrock and Vertex providers that name none
/// from the standard environment variables, as `lookup` reads them.
pub(crate) fn fill_cloud_credentials(config: &mut Config, lookup: &dyn Fn(&str) -> Option<String>) {
    for provider in config.providers.values_mut() {
        match provider.kind {
            ProviderKind::Bedrock => bedrock::fill_credentials(provider, lookup),
            ProviderKind::Vertex => vertex::fill_credentials(provider, lookup),
            _ => {}
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
        let unprobed = match provider.kind {
            ProviderKind::Bedrock => Some("bedrock"),
            ProviderKind::Vertex if provider.publisher.as_deref() == Some("anthropic") => {
                Some("vertex with publisher anthropic")
            }
            _ => None,
        };
        if let (Some(what), Some(_)) = (unprobed, &model.health_check) {
            report(
                format!("models.{name}.health_check"),
                format!(
                    "{what} has no call to probe every model without spending tokens: leave this model's health to its circuit breaker"
                ),
            );
        }
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
    fn vertex_needs_a_project_a_location_and_a_usable_key_file() {
        let dir = std::env::temp_dir().join(format!("steadfast-vertex-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("key.json");
        std::fs::write(&good, r#"{"type":"service_account","client_email":"gw@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n","token_uri":"https://oauth2.googleapis.com/token"}"#).unwrap();
        let not_json = dir.join("bad.json");
        std::fs::write(&not_json, "not json").unwrap();
        let vertex = |file: &std::path::Path| {
            format!(
                "kind: vertex, project: my-project, region: us-central1, credentials_file: {file:?}"
            )
        };
        assert_eq!(problems(&vertex(&good), "gemini-2.0-flash"), "");
        assert!(
            problems(&vertex(&dir.join("missing.json")), "m")
                .contains("providers.p.credentials_file: cannot read the key file")
        );
        assert!(problems(&vertex(&not_json), "m").contains("is not JSON"));
        assert!(
            problems("kind: vertex, project: p, region: moon-base", "m")
                .contains("providers.p.region: unknown region \"moon-base\"")
        );
        assert!(
            problems("kind: vertex, region: global", "m")
                .contains("providers.p.project: a vertex provider needs `project`")
        );
        assert!(
            problems(&format!("{}, publisher: meta", vertex(&good)), "m")
                .contains("providers.p.publisher: unknown publisher")
        );
        // Gemini on Vertex is probed by a token count; Claude there has no
        // call every model answers without spending tokens.
        let probed = "gemini-2.0-flash, health_check: { interval: 10s }";
        assert_eq!(problems(&vertex(&good), probed), "");
        assert!(
            problems(&format!("{}, publisher: anthropic", vertex(&good)), probed).contains(
                "models.m.health_check: vertex with publisher anthropic has no call to probe"
            )
        );
        let account = super::read_service_account(good.to_str().unwrap()).unwrap();
        assert!(!format!("{account:?}").contains("MIIE"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bedrock_needs_a_region_and_credentials_from_the_file_or_the_environment() {
        let bedrock = "kind: bedrock";
        let keys = "access_key_id: AKIAEXAMPLE, secret_access_key: wJalrXUtnFEMI";
        assert_eq!(
            problems(
                &format!("{bedrock}, region: us-east-1, {keys}"),
                "anthropic.claude-3-5-sonnet-20240620-v1:0"
            ),
            ""
        );
        assert!(
            problems(&format!("{bedrock}, region: mars-1, {keys}"), "m")
                .contains("providers.p.region: unknown region \"mars-1\"")
        );
        assert!(
            problems(&format!("{bedrock}, region: eu-central-1"), "m")
                .contains("providers.p: a bedrock provider needs credentials")
        );
        let yaml = format!(
            "providers:\n  p: {{ {bedrock} }}\nmodels:\n  m: {{ provider: p, model: x }}\nroutes:\n  chat: {{ targets: [m] }}\n"
        );
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIAENV".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret-from-env".to_owned()),
            "AWS_REGION" => Some("us-west-2".to_owned()),
            _ => None,
        };
        let config = crate::parse(&yaml, Path::new("s.yaml"), &env).unwrap();
        let provider = &config.providers["p"];
        assert_eq!(provider.access_key_id.as_ref().unwrap().expose(), "AKIAENV");
        assert_eq!(provider.region.as_deref(), Some("us-west-2"));
        assert!(!format!("{config:?}").contains("secret-from-env"));
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
