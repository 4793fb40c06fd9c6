//! Azure OpenAI: the v1 API at `{resource}/openai/v1`, or deployment URLs
//! naming the model with an `api-version`.

use steadfast_config::{ProviderConfig, Secret};
use steadfast_wire::Format;

use super::{Credential, Probe, ProviderApi};

/// An Azure OpenAI resource; the key in `api-key`.
#[derive(Debug)]
pub(super) struct Azure {
    base_url: String,
    /// With an `api_version`, deployment URLs:
    /// `{base_url}/openai/deployments/{model}{path}?api-version={api_version}`,
    /// the model list at `{base_url}/openai/models?api-version={api_version}`.
    api_version: Option<String>,
}

impl Azure {
    pub(super) fn new(config: &ProviderConfig) -> Azure {
        let mut base_url = super::trimmed(config);
        if config.api_version.is_none() && !base_url.ends_with("/openai/v1") {
            base_url.push_str("/openai/v1");
        }
        Azure {
            base_url,
            api_version: config.api_version.clone(),
        }
    }
}

impl ProviderApi for Azure {
    fn format(&self) -> Format {
        Format::Openai
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn url(&self, path: &str, model: &str) -> String {
        let base_url = &self.base_url;
        match &self.api_version {
            None => format!("{base_url}{path}"),
            Some(version) if path == "/models" => {
                format!("{base_url}/openai/models?api-version={version}")
            }
            Some(version) => {
                format!("{base_url}/openai/deployments/{model}{path}?api-version={version}")
            }
        }
    }

    fn urls_are_fixed(&self) -> bool {
        self.api_version.is_none()
    }

    fn api_key(&self, key: &Secret) -> Option<Credential> {
        Some(("api_key", "api-key", key.expose().to_owned()))
    }

    fn probe(&self) -> Option<Probe> {
        Some(Probe::ListModels("/models"))
    }
}
