//! Amazon Bedrock's checks: a region and AWS credentials (from the
//! environment when the config names none), no API key.

use crate::types::ProviderConfig;

/// A Bedrock provider's region and credentials (the environment's were
/// filled in already when the config names none).
pub(super) fn problems(
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

/// Fills in the credentials of a provider that names none from the standard
/// AWS environment variables, as `lookup` reads them.
pub(super) fn fill_credentials(
    provider: &mut ProviderConfig,
    lookup: &dyn Fn(&str) -> Option<String>,
) {
    if provider.access_key_id.is_some() || provider.secret_access_key.is_some() {
        return;
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
