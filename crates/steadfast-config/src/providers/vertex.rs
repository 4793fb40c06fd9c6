//! Vertex AI's checks: a project, a location, a publisher and a service
//! account key file (from GOOGLE_APPLICATION_CREDENTIALS when the config
//! names none), read now so `steadfast check` names a file it cannot use.

use crate::types::ProviderConfig;

/// A Vertex provider's project, location, publisher and service account
/// key file (read now, so `steadfast check` names a file it cannot use).
pub(super) fn problems(
    provider: &ProviderConfig,
    path: &str,
    report: &mut impl FnMut(String, String),
) {
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

/// Names the key file of GOOGLE_APPLICATION_CREDENTIALS, as `lookup` reads
/// it, for a provider that names none.
pub(super) fn fill_credentials(
    provider: &mut ProviderConfig,
    lookup: &dyn Fn(&str) -> Option<String>,
) {
    if provider.credentials_file.is_none() {
        provider.credentials_file = lookup("GOOGLE_APPLICATION_CREDENTIALS");
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
