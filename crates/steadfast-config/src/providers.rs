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
        ProviderKind::Bedrock => bedrock_problems(provider, path, report),
        ProviderKind::Vertex => vertex_problems(provider, path, report),
        _ => {}
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

/// A Bedrock provider's region and credentials (the environment's were
/// filled in already when the config names none).
fn bedrock_problems(
    provider: &ProviderConfig,
    path: &str,
    report: &mut impl FnMut(String, String),
) {
    match provider.region.as_deref() {
        None => report(
            format!("{path}.region"),
            "a bedrock provider needs `region`, e.g. \"us-east-1\"".into(),
        ),
        Some(region) if !is_region(region) => report(
            format!("{path}.region"),
            format!(
                "unknown region {region:?}: write an AWS region such as \"us-east-1\" or \"eu-central-1\""
            ),
        ),
        Some(_) => {}
    }
    match (&provider.access_key_id, &provider.secret_access_key) {
        (Some(_), Some(_)) => {}
        (None, None) => report(
            path.to_owned(),
            "a bedrock provider needs credentials: `access_key_id` and `secret_access_key`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment".into(),
        ),
        (Some(_), None) => report(
            format!("{path}.secret_access_key"),
            "is needed with `access_key_id`".into(),
        ),
        (None, Some(_)) => report(
            format!("{path}.access_key_id"),
            "is needed with `secret_access_key`".into(),
        ),
    }
    if provider.api_key.is_some() {
        report(
            format!("{path}.api_key"),
            "a bedrock provider signs with AWS credentials, not an API key".into(),
        );
    }
}

/// A Vertex provider's project, location, publisher and service account
/// key file (read now, so `steadfast check` names a file it cannot use).
fn vertex_problems(provider: &ProviderConfig, path: &str, report: &mut impl FnMut(String, String)) {
    if provider.project.as_deref().is_none_or(str::is_empty) {
        report(
            format!("{path}.project"),
            "a vertex provider needs `project`".into(),
        );
    }
    match provider.region.as_deref() {
        None => report(
            format!("{path}.region"),
            "a vertex provider needs `region`, e.g. \"us-central1\" or \"global\"".into(),
        ),
        Some(region) if region != "global" && !is_location(region) => report(
            format!("{path}.region"),
            format!(
                "unknown region {region:?}: write a Google Cloud location such as \"us-central1\", \"europe-west4\" or \"global\""
            ),
        ),
        Some(_) => {}
    }
    if let Some(publisher) = provider.publisher.as_deref() {
        if !matches!(publisher, "google" | "anthropic") {
            report(
                format!("{path}.publisher"),
                format!("unknown publisher {publisher:?}: `google` (Gemini) or `anthropic`"),
            );
        }
    }
    let Some(file) = provider.credentials_file.as_deref() else {
        report(
            format!("{path}.credentials_file"),
            "a vertex provider needs a service account key: `credentials_file`, or GOOGLE_APPLICATION_CREDENTIALS in the environment".into(),
        );
        return;
    };
    if let Err(reason) = read_service_account(file) {
        report(format!("{path}.credentials_file"), reason);
    }
}

/// A service account key file's fields: the account's email, its private
/// key (PEM) and the token endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    /// `client_email`.
    pub client_email: String,
    /// `private_key`, PEM; never printed.
    pub private_key: crate::Secret,
    /// `token_uri`.
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

/// Reads a service account's JSON key file; the error says what is wrong
/// with it, never quoting the key.
pub fn read_service_account(file: &str) -> Result<ServiceAccount, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|error| format!("cannot read the key file {file:?}: {error}"))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
        format!("the key file {file:?} is not JSON: expected a service account key")
    })?;
    let field = |key: &str| {
        value[key]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                format!("the key file {file:?} has no `{key}`: expected a service account key")
            })
    };
    let private_key = field("private_key")?;
    if !private_key.contains("-----BEGIN") {
        return Err(format!("the key file {file:?} holds no PEM private key"));
    }
    Ok(ServiceAccount {
        client_email: field("client_email")?,
        private_key: crate::Secret::new(private_key),
        token_uri: value["token_uri"]
            .as_str()
            .unwrap_or("https://oauth2.googleapis.com/token")
            .to_owned(),
    })
}

/// Whether `location` reads as a Google Cloud location (`us-central1`,
/// `europe-west4`, `asia-northeast1`).
fn is_location(location: &str) -> bool {
    let Some((area, place)) = location.split_once('-') else {
        return false;
    };
    area.chars().all(|c| c.is_ascii_lowercase())
        && !area.is_empty()
        && place.ends_with(|c: char| c.is_ascii_digit())
        && place
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// Whether `region` reads as an AWS region (`us-east-1`, `us-gov-west-1`,
/// `ap-southeast-2`).
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// Fills in the credentials of Bedrock and Vertex providers that name none
/// from the standard environment variables, as `lookup` reads them.
pub(crate) fn fill_cloud_credentials(config: &mut Config, lookup: &dyn Fn(&str) -> Option<String>) {
    for provider in config.providers.values_mut() {
        if provider.kind == ProviderKind::Vertex && provider.credentials_file.is_none() {
            provider.credentials_file = lookup("GOOGLE_APPLICATION_CREDENTIALS");
        }
        let unset = provider.access_key_id.is_none() && provider.secret_access_key.is_none();
        if provider.kind != ProviderKind::Bedrock || !unset {
            continue;
        }
        let secret = |name: &str| {
            lookup(name)
                .filter(|v| !v.is_empty())
                .map(crate::Secret::new)
        };
        provider.access_key_id = secret("AWS_ACCESS_KEY_ID");
        provider.secret_access_key = secret("AWS_SECRET_ACCESS_KEY");
        if provider.session_token.is_none() {
            provider.session_token = secret("AWS_SESSION_TOKEN");
        }
        if provider.region.is_none() {
            provider.region = lookup("AWS_REGION").or_else(|| lookup("AWS_DEFAULT_REGION"));
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
