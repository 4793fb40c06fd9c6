//! Anthropic's Messages API.

use steadfast_config::{ProviderConfig, Secret};
use steadfast_wire::Format;

use super::{Credential, Probe, ProviderApi};

/// `{base_url}{path}`, the key in `x-api-key`, the API version pinned.
#[derive(Debug)]
pub(super) struct Anthropic {
    base_url: String,
}

impl Anthropic {
    pub(super) fn new(config: &ProviderConfig) -> Anthropic {
        Anthropic {
            base_url: super::trimmed(config),
        }
    }
}

impl ProviderApi for Anthropic {
    fn format(&self) -> Format {
        Format::Anthropic
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn urls_are_fixed(&self) -> bool {
        true
    }

    fn api_key(&self, key: &Secret) -> Option<Credential> {
        Some(("api_key", "x-api-key", key.expose().to_owned()))
    }

    fn fixed_headers(&self) -> &'static [(&'static str, &'static str)] {
        &[("anthropic-version", "2023-06-01")]
    }

    fn probe(&self) -> Option<Probe> {
        Some(Probe::ListModels("/v1/models"))
    }
}
