//! Google's Gemini API (`generateContent`).

use steadfast_config::{ProviderConfig, Secret};
use steadfast_wire::Format;

use super::{Credential, Probe, ProviderApi};

/// `{base_url}/models/{model}{path}` (the path a method such as
/// `:generateContent`), the model list at `{base_url}/models`; the key in
/// `x-goog-api-key`.
#[derive(Debug)]
pub(super) struct Gemini {
    base_url: String,
}

impl Gemini {
    pub(super) fn new(config: &ProviderConfig) -> Gemini {
        let mut base_url = super::trimmed(config);
        if !base_url.ends_with("/v1beta") && !base_url.ends_with("/v1") {
            base_url.push_str("/v1beta");
        }
        Gemini { base_url }
    }
}

impl ProviderApi for Gemini {
    fn format(&self) -> Format {
        Format::Gemini
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn url(&self, path: &str, model: &str) -> String {
        match path {
            "/models" => format!("{}/models", self.base_url),
            _ => format!("{}/models/{model}{path}", self.base_url),
        }
    }

    fn api_key(&self, key: &Secret) -> Option<Credential> {
        Some(("api_key", "x-goog-api-key", key.expose().to_owned()))
    }

    fn probe(&self) -> Option<Probe> {
        Some(Probe::ListModels("/models"))
    }
}
