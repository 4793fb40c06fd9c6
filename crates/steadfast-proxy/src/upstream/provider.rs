//! One configured provider, ready to be called: the headers and credentials
//! sent with every call, the secrets masked in what comes back, and what its
//! kind decides (module `providers`: where each call goes, signing, probes).

use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde_json::Value;
use steadfast_config::{Config, ProviderConfig, Secret};
use steadfast_wire::fields::Fields;
use steadfast_wire::sanitise::sanitise;
use steadfast_wire::{ChatRequest, Format};

use super::providers::{self, Probe, ProviderApi};
use crate::build_error::BuildError;

/// One configured provider, ready to be called.
#[derive(Clone)]
pub struct Provider {
    /// Its name in the config.
    pub name: Arc<str>,
    /// The wire format it speaks.
    pub format: Format,
    /// What its kind decides: where calls go, how they are signed, its probe.
    api: Arc<dyn ProviderApi>,
    /// The URLs of the paths the gateway calls, parsed once (where they do
    /// not depend on the model).
    urls: Vec<(&'static str, Uri)>,
    /// The credentials, to redact from text that came back.
    secrets: Vec<Secret>,
    /// Every secret of the config, redacted too.
    redaction: Redaction,
    /// The configured headers and the credentials, sent with every call.
    headers: HeaderMap,
    /// The config it was made from.
    config: ProviderConfig,
}

/// Two providers are the same when they have the same name and config
/// (a reload keeps the state of targets whose provider did not change).
impl PartialEq for Provider {
    fn eq(&self, other: &Provider) -> bool {
        self.name == other.name && self.config == other.config
    }
}

impl Eq for Provider {}

/// Its name, format and what its kind decides (addresses): never its
/// headers or config, which may hold secrets.
impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// The paths the gateway calls on providers, whose URLs are parsed once.
const CALLED_PATHS: [&str; 5] = [
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/messages",
    "/models",
];

impl Provider {
    /// The base URL it was configured with (or derived for its kind).
    pub fn base_url(&self) -> &str {
        self.api.base_url()
    }

    /// Prepares a provider from its config; the config was validated already,
    /// so only header names and values can still be refused.
    pub fn from_config(name: &str, config: &ProviderConfig) -> Result<Provider, BuildError> {
        let api = providers::api(name, config)?;
        let mut headers = HeaderMap::new();
        for (key, value) in &config.headers {
            let key = HeaderName::try_from(key.as_str()).map_err(|_| {
                BuildError::new(
                    format!("providers.{name}.headers"),
                    format!("{key:?} is not a header name"),
                )
            })?;
            let value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                BuildError::new(
                    format!("providers.{name}.headers.{key}"),
                    "not a valid header value",
                )
            })?;
            headers.insert(key, value);
        }
        let bearer = (config.bearer_token.iter()).map(|token| {
            (
                "bearer_token",
                "authorization",
                format!("Bearer {}", token.expose()),
            )
        });
        let credentials = config.api_key.iter().filter_map(|key| api.api_key(key));
        for (key, header, value) in credentials.chain(bearer) {
            let mut value = HeaderValue::try_from(value).map_err(|_| {
                BuildError::new(
                    format!("providers.{name}.{key}"),
                    "not a valid header value",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        for (header, value) in api.fixed_headers() {
            headers.insert(*header, HeaderValue::from_static(value));
        }
        headers
            .entry(http::header::USER_AGENT)
            .or_insert(HeaderValue::from_static(concat!(
                "steadfast/",
                env!("CARGO_PKG_VERSION")
            )));
        let urls = match api.urls_are_fixed() {
            true => (CALLED_PATHS.iter())
                .filter_map(|path| Some((*path, Uri::try_from(api.url(path, "")).ok()?)))
                .collect(),
            false => Vec::new(),
        };
        Ok(Provider {
            name: name.into(),
            format: api.format(),
            api,
            urls,
            secrets: (config.api_key.iter())
                .chain(&config.bearer_token)
                .chain(&config.secret_access_key)
                .chain(&config.session_token)
                .cloned()
                .collect(),
            redaction: Redaction::default(),
            headers,
            config: config.clone(),
        })
    }

    /// The full URL of `path` (e.g. `/chat/completions`) for upstream `model`.
    pub fn url(&self, path: &str, model: &str) -> String {
        self.api.url(path, model)
    }

    /// [`Provider::url`] ready for the client: parsed once for the paths
    /// the gateway calls on a provider whose URLs do not name the model.
    pub(super) fn request_url(&self, path: &str, model: &str) -> Result<Uri, String> {
        match self.urls.iter().find(|(known, _)| *known == path) {
            Some((_, url)) => Ok(url.clone()),
            None => Uri::try_from(self.url(path, model)).map_err(|e| e.to_string()),
        }
    }

    /// The path of a chat call in the provider's format, whose own path is
    /// `path`.
    pub fn chat_path(&self, path: &'static str, stream: bool) -> &'static str {
        self.api.chat_path(path, stream)
    }

    /// The client's chat request passed on as sent, for upstream `model`:
    /// the model where the provider wants it.
    pub fn forward_chat(&self, fields: &Fields, model: &str) -> Vec<u8> {
        let changes = self.api.body_changes();
        if changes.is_empty() {
            return fields.to_json_with_model(model);
        }
        let mut all = vec![("model", Some(model))];
        for &(key, value) in changes {
            match all.iter_mut().find(|(known, _)| *known == key) {
                Some(change) => change.1 = value,
                None => all.push((key, value)),
            }
        }
        fields.to_json_with(&all)
    }

    /// A chat request its format wrote, as the provider takes it.
    pub fn adapt_chat(&self, mut body: Value) -> Value {
        if let Some(object) = body.as_object_mut() {
            for &(key, value) in self.api.body_changes() {
                match value {
                    Some(value) => object.insert(key.to_owned(), value.into()),
                    None => object.remove(key),
                };
            }
        }
        body
    }

    /// Why the provider cannot take `request` though its format can.
    pub fn cannot_take(&self, request: &ChatRequest) -> Option<String> {
        self.api.cannot_take(request)
    }

    /// The cheapest call that shows this provider answers, costing no
    /// tokens: its model list, or for Gemini on Vertex AI (which lists no
    /// models at a project's location) a token count. `None` for Bedrock and
    /// Claude on Vertex AI, which have no such call for every model.
    pub fn probe(&self) -> Option<Probe> {
        self.api.probe()
    }

    /// Signs `request` (whose body is `body`) as the provider's kind wants
    /// (AWS Signature Version 4 for Bedrock); a no-op for the others.
    pub(super) fn sign(
        &self,
        request: &mut http::Request<http_body_util::Full<bytes::Bytes>>,
        body: &[u8],
    ) -> Result<(), String> {
        self.api.sign(request, body)
    }

    /// The service account whose tokens every call carries (Vertex AI).
    pub(super) fn google(&self) -> Option<&super::google::GoogleAuth> {
        self.api.google()
    }

    /// The headers sent with every call, credentials included.
    pub(super) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// This provider, masking `redaction` (every secret of the config) in
    /// the text that comes back from it too.
    pub fn with_redaction(self, redaction: Redaction) -> Provider {
        Provider { redaction, ..self }
    }

    /// Text that came back from this provider (an error message), made safe
    /// to show and log: every configured secret masked while it is whole,
    /// then [`sanitise`]d (patterns masked, the length cut).
    pub fn clean(&self, text: &str) -> String {
        let own = mask(text, self.secrets.iter().map(Secret::expose));
        sanitise(&self.redaction.apply(&own))
    }
}

/// Every secret of a config — any provider's credentials, client keys, the
/// gateway's tokens ([`Config::secrets`]) — masked in text that came back
/// from any provider. It says nothing of a provider itself, so it is not
/// part of a provider's equality: a key rotated on one provider leaves the
/// others' state.
#[derive(Debug, Clone, Default)]
pub struct Redaction(Arc<[String]>);

impl Redaction {
    /// The secrets of `config`.
    pub fn of(config: &Config) -> Redaction {
        Redaction(
            config
                .secrets()
                .into_iter()
                .map(|secret| secret.expose().to_owned())
                .collect(),
        )
    }

    fn apply(&self, text: &str) -> String {
        mask(text, self.0.iter().map(String::as_str))
    }
}

/// `text` with each of `secrets` (of at least four characters) masked.
fn mask<'a>(text: &str, secrets: impl Iterator<Item = &'a str>) -> String {
    let mut text = text.to_owned();
    for secret in secrets.filter(|secret| secret.len() >= 4) {
        if text.contains(secret) {
            text = text.replace(secret, "***");
        }
    }
    text
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use steadfast_config::ProviderKind;

    fn config(kind: ProviderKind, base_url: &str) -> ProviderConfig {
        ProviderConfig {
            kind,
            base_url: base_url.into(),
            api_key: None,
            headers: Default::default(),
            api_version: None,
            bearer_token: None,
            region: None,
            project: None,
            publisher: None,
            credentials_file: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
        }
    }

    /// Claude on Vertex AI speaks Anthropic's format at Vertex's address:
    /// `:rawPredict` after the model, the model out of the body, Vertex's
    /// `anthropic_version` in, and no JSON answer.
    #[test]
    fn claude_on_vertex_is_anthropic_at_vertex_addresses() {
        let config = ProviderConfig {
            region: Some("us-east5".into()),
            project: Some("proj".into()),
            publisher: Some("anthropic".into()),
            ..config(ProviderKind::Vertex, "")
        };
        let claude = Provider::from_config("claude", &config).unwrap();
        assert_eq!(claude.format, Format::Anthropic);
        assert_eq!(claude.probe(), None);
        let path = claude.chat_path("/v1/messages", true);
        assert_eq!(
            claude.url(path, "claude-sonnet-4-5@20250929"),
            "https://us-east5-aiplatform.googleapis.com/v1/projects/proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
        );
        let sent = br#"{"model":"claude","max_tokens":5,"messages":[]}"#;
        let fields = Fields::parse(sent).unwrap();
        let forwarded: Value =
            serde_json::from_slice(&claude.forward_chat(&fields, "claude-sonnet-4-5")).unwrap();
        assert_eq!(
            forwarded,
            serde_json::json!({"anthropic_version": "vertex-2023-10-16", "max_tokens": 5, "messages": []})
        );
        let written = serde_json::json!({"model": "m", "max_tokens": 5});
        assert_eq!(
            claude.adapt_chat(written),
            serde_json::json!({"anthropic_version": "vertex-2023-10-16", "max_tokens": 5})
        );
        let json = steadfast_wire::ChatRequest {
            response_format: Some(steadfast_wire::ResponseFormat::JsonObject),
            ..Default::default()
        };
        assert!(claude.cannot_take(&json).is_some());
        // Gemini on Vertex AI: its format's own paths and bodies.
        let gemini = Provider::from_config(
            "gemini",
            &ProviderConfig {
                publisher: None,
                ..config
            },
        )
        .unwrap();
        assert_eq!(gemini.format, Format::Gemini);
        assert_eq!(
            gemini.chat_path(":generateContent", false),
            ":generateContent"
        );
        assert!(gemini.cannot_take(&json).is_none());
        assert_eq!(
            gemini.forward_chat(&fields, "gemini-2.5-pro"),
            fields.to_json_with_model("gemini-2.5-pro")
        );
    }

    #[test]
    fn bedrock_calls_are_signed_at_an_encoded_model_path() {
        let config = ProviderConfig {
            region: Some("eu-central-1".into()),
            access_key_id: Some(Secret::new("AKIDEXAMPLE")),
            secret_access_key: Some(Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")),
            session_token: Some(Secret::new("session-token-xyz")),
            ..config(ProviderKind::Bedrock, "")
        };
        let bedrock = Provider::from_config("bedrock", &config).unwrap();
        assert_eq!(
            bedrock.url("/converse", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
            "https://bedrock-runtime.eu-central-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
        );
        let uri = bedrock
            .request_url("/converse-stream", "meta.llama3:1")
            .unwrap();
        let mut request =
            http::Request::new(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")));
        *request.uri_mut() = uri;
        *request.method_mut() = http::Method::POST;
        bedrock.sign(&mut request, b"{}").unwrap();
        let authorization = request.headers()["authorization"].to_str().unwrap();
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{authorization}"
        );
        assert!(
            authorization.contains("/eu-central-1/bedrock/aws4_request"),
            "{authorization}"
        );
        assert!(request.headers()["authorization"].is_sensitive());
        assert_eq!(
            request.headers()["x-amz-security-token"],
            "session-token-xyz"
        );
        assert!(request.headers().contains_key("x-amz-date"));
        assert!(!format!("{bedrock:?}").contains("wJalr"));
    }

    /// An OpenAI provider on a closed port, with `key`.
    pub(in crate::upstream) fn openai(key: &str) -> Provider {
        let config = ProviderConfig {
            api_key: Some(Secret::new(key)),
            ..config(ProviderKind::Openai, "http://127.0.0.1:1/v1/")
        };
        Provider::from_config("openai", &config).unwrap()
    }

    #[test]
    fn a_configured_user_agent_is_kept() {
        assert!(
            openai("sk-x").headers[http::header::USER_AGENT]
                .to_str()
                .unwrap()
                .starts_with("steadfast/")
        );
        let own = ProviderConfig {
            headers: [("User-Agent".to_owned(), "my-app/2".to_owned())]
                .into_iter()
                .collect(),
            ..config(ProviderKind::Openai, "http://127.0.0.1:1/v1")
        };
        let own = Provider::from_config("own", &own).unwrap();
        assert_eq!(own.headers[http::header::USER_AGENT], "my-app/2");
        let bad = ProviderConfig {
            headers: [("x-team".to_owned(), "line\nbreak".to_owned())]
                .into_iter()
                .collect(),
            ..config(ProviderKind::Openai, "http://127.0.0.1:1/v1")
        };
        assert_eq!(
            Provider::from_config("own", &bad).unwrap_err(),
            BuildError::new("providers.own.headers.x-team", "not a valid header value")
        );
    }

    #[test]
    fn urls_join_without_double_slashes() {
        assert_eq!(
            openai("sk-x").url("/chat/completions", "gpt"),
            "http://127.0.0.1:1/v1/chat/completions"
        );
    }

    #[test]
    fn gemini_names_the_model_and_the_method_and_sends_its_key() {
        let config = ProviderConfig {
            api_key: Some(Secret::new("gemini-key-789")),
            ..config(
                ProviderKind::Gemini,
                "https://generativelanguage.googleapis.com",
            )
        };
        let gemini = Provider::from_config("gemini", &config).unwrap();
        assert_eq!(gemini.format, Format::Gemini);
        assert_eq!(
            gemini.url(":streamGenerateContent?alt=sse", "gemini-2.0-flash"),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            gemini.url("/models", ""),
            "https://generativelanguage.googleapis.com/v1beta/models"
        );
        assert_eq!(gemini.headers["x-goog-api-key"], "gemini-key-789");
    }

    #[test]
    fn azure_deployments_name_the_model_and_the_api_version() {
        let deployments = ProviderConfig {
            api_key: Some(Secret::new("azure-key-123")),
            api_version: Some("2024-10-21".into()),
            ..config(ProviderKind::Azure, "https://res.openai.azure.com/")
        };
        let azure = Provider::from_config("azure", &deployments).unwrap();
        assert_eq!(azure.format, Format::Openai);
        assert_eq!(
            azure.url("/chat/completions", "gpt-4o-prod"),
            "https://res.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            azure.url("/models", ""),
            "https://res.openai.azure.com/openai/models?api-version=2024-10-21"
        );
        assert_eq!(azure.headers["api-key"], "azure-key-123");
        assert!(azure.headers["api-key"].is_sensitive());
        assert!(!azure.headers.contains_key("authorization"));

        let v1 = ProviderConfig {
            bearer_token: Some(Secret::new("entra-token-456")),
            ..config(ProviderKind::Azure, "https://res.openai.azure.com")
        };
        let v1 = Provider::from_config("azure-v1", &v1).unwrap();
        assert_eq!(
            v1.request_url("/chat/completions", "gpt-4o").unwrap(),
            "https://res.openai.azure.com/openai/v1/chat/completions"
        );
        assert_eq!(v1.headers["authorization"], "Bearer entra-token-456");
        assert_eq!(
            v1.clean("token entra-token-456 refused"),
            "token *** refused"
        );
    }
}
