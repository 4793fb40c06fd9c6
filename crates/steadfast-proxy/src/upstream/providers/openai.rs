//! OpenAI's API, and the many servers that copy it (vLLM, Ollama, LM Studio).

use steadfast_config::{ProviderConfig, Secret};
use steadfast_wire::Format;

use super::{Credential, Probe, ProviderApi};

/// `{base_url}{path}`, a bearer key.
#[derive(Debug)]
pub(super) struct OpenAi {
    base_url: String,
}

impl OpenAi {
    pub(super) fn new(config: &ProviderConfig) -> OpenAi {
        OpenAi {
            base_url: super::trimmed(config),
        }
    }
}

impl ProviderApi for OpenAi {
    fn format(&self) -> Format {
        Format::Openai
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn urls_are_fixed(&self) -> bool {
        true
    }

    fn api_key(&self, key: &Secret) -> Option<Credential> {
        Some((
            "api_key",
            "authorization",
            format!("Bearer {}", key.expose()),
        ))
    }

    fn probe(&self) -> Option<Probe> {
        Some(Probe::ListModels("/models"))
    }
}
