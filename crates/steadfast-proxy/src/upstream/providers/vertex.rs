//! Vertex AI: Google's models (the Gemini format) and Anthropic's (Claude,
//! the Messages format with the model in the URL), with a service account's
//! tokens.

use std::sync::Arc;

use steadfast_config::ProviderConfig;
use steadfast_wire::Format;

use super::super::google::GoogleAuth;
use super::{Probe, ProviderApi};
use crate::build_error::BuildError;

/// `{base_url}/v1/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}{path}`.
#[derive(Debug)]
pub(super) struct Vertex {
    base_url: String,
    /// Everything before `/models/`.
    prefix: String,
    format: Format,
    google: Option<Arc<GoogleAuth>>,
}

impl Vertex {
    pub(super) fn new(name: &str, config: &ProviderConfig) -> Result<Vertex, BuildError> {
        let location = config.region.as_deref().unwrap_or("global");
        let mut base_url = super::trimmed(config);
        if base_url.is_empty() {
            base_url = match location {
                "global" => "https://aiplatform.googleapis.com".to_owned(),
                _ => format!("https://{location}-aiplatform.googleapis.com"),
            };
        }
        let project = config.project.as_deref().unwrap_or_default();
        let publisher = config.publisher.as_deref().unwrap_or("google");
        let google = match &config.credentials_file {
            Some(file) => Some(Arc::new(GoogleAuth::from_file(file).map_err(|why| {
                BuildError::new(format!("providers.{name}.credentials_file"), why)
            })?)),
            None => None,
        };
        Ok(Vertex {
            prefix: format!(
                "{base_url}/v1/projects/{project}/locations/{location}/publishers/{publisher}"
            ),
            base_url,
            format: match publisher {
                "anthropic" => Format::AnthropicVertex,
                _ => Format::Gemini,
            },
            google,
        })
    }
}

impl ProviderApi for Vertex {
    fn format(&self) -> Format {
        self.format
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn url(&self, path: &str, model: &str) -> String {
        format!("{}/models/{model}{path}", self.prefix)
    }

    /// A token count for Gemini (Vertex AI lists no models at a project's
    /// location); none for Claude, which has no such call for every model.
    fn probe(&self) -> Option<Probe> {
        (self.format == Format::Gemini).then_some(Probe::CountTokens {
            path: ":countTokens",
            body: r#"{"contents":[{"role":"user","parts":[{"text":"ping"}]}]}"#,
        })
    }

    fn google(&self) -> Option<&GoogleAuth> {
        self.google.as_deref()
    }
}
