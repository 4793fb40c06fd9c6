//! The provider kinds, one module each: what a kind decides about its calls
//! (the wire format of its models, where each call goes, the credentials it
//! sends, how a call is signed or authorised, its health probe), behind
//! [`ProviderApi`]. A new kind is a module here and one line in [`api`].

mod anthropic;
mod azure;
mod bedrock;
mod gemini;
mod openai;
mod vertex;

use std::fmt;
use std::sync::Arc;

use steadfast_config::{ProviderConfig, ProviderKind, Secret};
use steadfast_wire::{ChatRequest, Format};

use super::google::GoogleAuth;
use crate::build_error::BuildError;

/// A health probe's call ([`Provider::probe`](crate::upstream::Provider::probe)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `GET` the model list at this path.
    ListModels(&'static str),
    /// `POST` this body, counting a one-word prompt's tokens, to this path
    /// for the probed model.
    CountTokens {
        /// The path, after the model.
        path: &'static str,
        /// The JSON body.
        body: &'static str,
    },
}

/// A credential header: the config key it comes from, the header, its value.
pub(crate) type Credential = (&'static str, &'static str, String);

/// What a provider's kind decides about its calls.
pub(crate) trait ProviderApi: fmt::Debug + Send + Sync {
    /// The wire format of its models.
    fn format(&self) -> Format;

    /// The base URL of its calls: as configured, or derived for the kind.
    fn base_url(&self) -> &str;

    /// The full URL of `path` (e.g. `/chat/completions`) for upstream `model`.
    fn url(&self, path: &str, model: &str) -> String {
        let _ = model;
        format!("{}{path}", self.base_url())
    }

    /// Whether [`ProviderApi::url`] is `{base_url}{path}` whatever the model
    /// (its URLs are then parsed once).
    fn urls_are_fixed(&self) -> bool {
        false
    }

    /// The header carrying the configured `api_key`, as the kind sends it.
    fn api_key(&self, key: &Secret) -> Option<Credential> {
        let _ = key;
        None
    }

    /// Headers every call of the kind carries (beside credentials).
    fn fixed_headers(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// The path of a chat call whose format puts it at `path`: the format's
    /// own by default (Claude on Vertex AI: `:rawPredict` after the model).
    fn chat_path(&self, path: &'static str, stream: bool) -> &'static str {
        let _ = stream;
        path
    }

    /// Fields set (`Some`) or left out (`None`) in every chat request's
    /// body after its format wrote it (Claude on Vertex AI: the model in the
    /// URL, not the body, and Vertex's `anthropic_version`). Default: none.
    fn body_changes(&self) -> &'static [(&'static str, Option<&'static str>)] {
        &[]
    }

    /// Why the provider cannot take `request` though its format can, if it
    /// cannot (a feature the platform turns off). Default: it can.
    fn cannot_take(&self, request: &ChatRequest) -> Option<String> {
        let _ = request;
        None
    }

    /// The cheapest call that shows the provider answers, costing no tokens;
    /// `None` where the API has none for every model.
    fn probe(&self) -> Option<Probe>;

    /// Signs a call whose body is `body` (Bedrock's SigV4); a no-op by default.
    fn sign(
        &self,
        request: &mut http::Request<http_body_util::Full<bytes::Bytes>>,
        body: &[u8],
    ) -> Result<(), String> {
        let _ = (request, body);
        Ok(())
    }

    /// The service account whose tokens every call carries (Vertex AI).
    fn google(&self) -> Option<&GoogleAuth> {
        None
    }
}

/// The API of the provider `name` configured as `config` (validated).
pub(crate) fn api(name: &str, config: &ProviderConfig) -> Result<Arc<dyn ProviderApi>, BuildError> {
    Ok(match config.kind {
        ProviderKind::Openai => Arc::new(openai::OpenAi::new(config)),
        ProviderKind::Azure => Arc::new(azure::Azure::new(config)),
        ProviderKind::Anthropic => Arc::new(anthropic::Anthropic::new(config)),
        ProviderKind::Gemini => Arc::new(gemini::Gemini::new(config)),
        ProviderKind::Bedrock => Arc::new(bedrock::Bedrock::new(config)),
        ProviderKind::Vertex => Arc::new(vertex::Vertex::new(name, config)?),
    })
}

/// The configured base URL without its trailing slashes.
fn trimmed(config: &ProviderConfig) -> String {
    config.base_url.trim_end_matches('/').to_owned()
}
