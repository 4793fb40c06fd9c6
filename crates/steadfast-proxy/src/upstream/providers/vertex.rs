//! Vertex AI: Google's models (the Gemini format) and Anthropic's (Claude:
//! the Messages format, at `:rawPredict` with the model in the URL rather
//! than the body and Vertex's `anthropic_version`), with a service account's
//! tokens.

use std::sync::Arc;

use steadfast_config::ProviderConfig;
use steadfast_wire::{ChatRequest, Format};

use super::super::google::GoogleAuth;
use super::{Probe, ProviderApi};
use crate::build_error::BuildError;

/// The `anthropic_version` Vertex AI takes for Claude.
const CLAUDE_VERSION: &str = "vertex-2023-10-16";

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
                "anthropic" => Format::Anthropic,
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

    /// Claude's calls are `:rawPredict` and `:streamRawPredict`.
    fn chat_path(&self, path: &'static str, stream: bool) -> &'static str {
        match (self.format, stream) {
            (Format::Anthropic, true) => ":streamRawPredict",
            (Format::Anthropic, false) => ":rawPredict",
            _ => path,
        }
    }

    /// Claude's body names no model (the URL does) and Vertex's API version.
    fn body_changes(&self) -> &'static [(&'static str, Option<&'static str>)] {
        match self.format {
            Format::Anthropic => &[("model", None), ("anthropic_version", Some(CLAUDE_VERSION))],
            _ => &[],
        }
    }

    /// No JSON answer from Claude: its structured outputs are off on Vertex
    /// AI unless the organisation's policy allows them
    /// (`constraints/vertexai.allowedPartnerModelFeatures`).
    fn cannot_take(&self, request: &ChatRequest) -> Option<String> {
        request.response_format.as_ref()?;
        (self.format == Format::Anthropic).then(|| {
            "Claude on Vertex AI gives no JSON answer (structured outputs are off by the platform's default policy)".to_owned()
        })
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
