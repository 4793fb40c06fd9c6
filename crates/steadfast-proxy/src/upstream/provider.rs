//! One configured provider, ready to be called: where each path the gateway
//! calls lives (which depends on the kind: Azure deployments name the model
//! in the URL), and the credentials and headers sent with every call.

use std::sync::Arc;

use crate::build_error::BuildError;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use steadfast_config::{Config, ProviderConfig, ProviderKind, Secret};
use steadfast_wire::Format;
use steadfast_wire::sanitise::sanitise;

/// One configured provider, ready to be called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Its name in the config.
    pub name: Arc<str>,
    /// The wire format it speaks.
    pub format: Format,
    base_url: String,
    addressing: Addressing,
    /// The URLs of the paths the gateway calls, parsed once (for
    /// [`Addressing::Base`]).
    urls: Vec<(&'static str, Uri)>,
    /// The credentials, to redact from text that came back.
    secrets: Vec<Secret>,
    /// Every secret of the config, redacted too.
    redaction: Redaction,
    /// The configured headers and the credentials, sent with every call.
    headers: HeaderMap,
    /// Signs every call (Bedrock).
    signer: Option<AwsSigner>,
    /// A service account's tokens (Vertex AI).
    google: Option<Arc<super::google::GoogleAuth>>,
}

/// Where a provider's paths are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Addressing {
    /// `{base_url}{path}`.
    Base,
    /// Azure OpenAI's deployment URLs:
    /// `{base_url}/openai/deployments/{model}{path}?api-version={api_version}`,
    /// the model list at `{base_url}/openai/models?api-version={api_version}`.
    AzureDeployments {
        /// The `api-version` query parameter.
        api_version: String,
    },
    /// Gemini: `{base_url}/models/{model}{path}` (the path a method such as
    /// `:generateContent`), the model list at `{base_url}/models`.
    Gemini,
    /// Bedrock: `{base_url}/model/{model}{path}`, the model id
    /// percent-encoded (ids such as `anthropic.claude-…-v1:0` hold a colon).
    Bedrock,
    /// Vertex AI: `{base_url}/v1/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}{path}`.
    Vertex {
        /// Everything before `/models/`.
        prefix: String,
    },
}

/// A health probe's call ([`Provider::probe`]).
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

/// What signs a Bedrock call: AWS credentials and the region.
#[derive(Clone, PartialEq, Eq)]
struct AwsSigner {
    region: String,
    access_key_id: Secret,
    secret_access_key: Secret,
    session_token: Option<Secret>,
}

impl std::fmt::Debug for AwsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSigner")
            .field("region", &self.region)
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

/// The wire format of `config`'s models.
fn format_of_config(config: &ProviderConfig) -> Format {
    match (config.kind, config.publisher.as_deref()) {
        (ProviderKind::Vertex, Some("anthropic")) => Format::AnthropicVertex,
        (kind, _) => format_of(kind),
    }
}

/// The wire format a provider of `kind` speaks.
fn format_of(kind: ProviderKind) -> Format {
    match kind {
        ProviderKind::Openai | ProviderKind::Azure => Format::Openai,
        ProviderKind::Anthropic => Format::Anthropic,
        ProviderKind::Gemini => Format::Gemini,
        ProviderKind::Bedrock => Format::Bedrock,
        ProviderKind::Vertex => Format::Gemini,
    }
}

impl Provider {
    /// The base URL it was configured with (or derived for its kind).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Prepares a provider from its config; the config was validated already,
    /// so only header names and values can still be refused.
    pub fn from_config(name: &str, config: &ProviderConfig) -> Result<Provider, BuildError> {
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
        for (key, header, value) in credentials(config) {
            let mut value = HeaderValue::try_from(value).map_err(|_| {
                BuildError::new(
                    format!("providers.{name}.{key}"),
                    "not a valid header value",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        if config.kind == ProviderKind::Anthropic {
            headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        }
        headers
            .entry(http::header::USER_AGENT)
            .or_insert(HeaderValue::from_static(concat!(
                "steadfast/",
                env!("CARGO_PKG_VERSION")
            )));
        let mut base_url = config.base_url.trim_end_matches('/').to_owned();
        let addressing = match (config.kind, &config.api_version) {
            (ProviderKind::Azure, Some(api_version)) => Addressing::AzureDeployments {
                api_version: api_version.clone(),
            },
            (ProviderKind::Azure, None) => {
                if !base_url.ends_with("/openai/v1") {
                    base_url.push_str("/openai/v1");
                }
                Addressing::Base
            }
            (ProviderKind::Bedrock, _) => {
                if base_url.is_empty() {
                    let region = config.region.as_deref().unwrap_or("us-east-1");
                    base_url = format!("https://bedrock-runtime.{region}.amazonaws.com");
                }
                Addressing::Bedrock
            }
            (ProviderKind::Vertex, _) => {
                let location = config.region.as_deref().unwrap_or("global");
                if base_url.is_empty() {
                    base_url = match location {
                        "global" => "https://aiplatform.googleapis.com".to_owned(),
                        _ => format!("https://{location}-aiplatform.googleapis.com"),
                    };
                }
                let project = config.project.as_deref().unwrap_or_default();
                let publisher = config.publisher.as_deref().unwrap_or("google");
                Addressing::Vertex {
                    prefix: format!(
                        "{base_url}/v1/projects/{project}/locations/{location}/publishers/{publisher}"
                    ),
                }
            }
            (ProviderKind::Gemini, _) => {
                if !base_url.ends_with("/v1beta") && !base_url.ends_with("/v1") {
                    base_url.push_str("/v1beta");
                }
                Addressing::Gemini
            }
            _ => Addressing::Base,
        };
        let urls = CALLED_PATHS
            .iter()
            .filter_map(|path| {
                let url = Uri::try_from(format!("{base_url}{path}")).ok()?;
                Some((*path, url))
            })
            .collect();
        Ok(Provider {
            name: name.into(),
            format: format_of_config(config),
            base_url,
            addressing,
            urls,
            secrets: config
                .api_key
                .iter()
                .chain(&config.bearer_token)
                .chain(&config.secret_access_key)
                .chain(&config.session_token)
                .cloned()
                .collect(),
            redaction: Redaction::default(),
            headers,
            signer: signer(config),
            google: match (config.kind, &config.credentials_file) {
                (ProviderKind::Vertex, Some(file)) => Some(Arc::new(
                    super::google::GoogleAuth::from_file(file).map_err(|why| {
                        BuildError::new(format!("providers.{name}.credentials_file"), why)
                    })?,
                )),
                _ => None,
            },
        })
    }

    /// The full URL of `path` (e.g. `/chat/completions`) for upstream `model`.
    pub fn url(&self, path: &str, model: &str) -> String {
        match &self.addressing {
            Addressing::Base => format!("{}{path}", self.base_url),
            Addressing::Gemini if path == "/models" => format!("{}/models", self.base_url),
            Addressing::Gemini => format!("{}/models/{model}{path}", self.base_url),
            Addressing::Bedrock => format!("{}/model/{}{path}", self.base_url, path_segment(model)),
            Addressing::Vertex { prefix } => format!("{prefix}/models/{model}{path}"),
            Addressing::AzureDeployments { api_version } if path == "/models" => {
                format!("{}/openai/models?api-version={api_version}", self.base_url)
            }
            Addressing::AzureDeployments { api_version } => format!(
                "{}/openai/deployments/{model}{path}?api-version={api_version}",
                self.base_url
            ),
        }
    }

    /// [`Provider::url`] ready for the client: parsed once for the paths
    /// the gateway calls on a provider addressed from its base URL.
    pub(super) fn request_url(&self, path: &str, model: &str) -> Result<Uri, String> {
        let known = match self.addressing {
            Addressing::Base => self.urls.iter().find(|(known, _)| *known == path),
            Addressing::AzureDeployments { .. }
            | Addressing::Gemini
            | Addressing::Bedrock
            | Addressing::Vertex { .. } => None,
        };
        match known {
            Some((_, url)) => Ok(url.clone()),
            None => Uri::try_from(self.url(path, model)).map_err(|e| e.to_string()),
        }
    }

    /// The cheapest call that shows this provider answers, costing no
    /// tokens: its model list, or for Gemini on Vertex AI (which lists no
    /// models at a project's location) a token count. `None` for Bedrock and
    /// Claude on Vertex AI, which have no such call for every model.
    pub fn probe(&self) -> Option<Probe> {
        match (&self.addressing, self.format) {
            (Addressing::Vertex { .. }, Format::Gemini) => Some(Probe::CountTokens {
                path: ":countTokens",
                body: r#"{"contents":[{"role":"user","parts":[{"text":"ping"}]}]}"#,
            }),
            (Addressing::Vertex { .. } | Addressing::Bedrock, _) => None,
            _ => steadfast_wire::format::models_path(self.format).map(Probe::ListModels),
        }
    }

    /// The service account whose tokens every call carries (Vertex AI).
    pub(super) fn google(&self) -> Option<&super::google::GoogleAuth> {
        self.google.as_deref()
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
/// from any provider. It says nothing of a provider itself, so it compares
/// equal to any other: a key rotated on one provider leaves the others' state.
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

impl PartialEq for Redaction {
    fn eq(&self, _: &Redaction) -> bool {
        true
    }
}

impl Eq for Redaction {}

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

/// The signer of a Bedrock provider, if it has one.
fn signer(config: &ProviderConfig) -> Option<AwsSigner> {
    if config.kind != ProviderKind::Bedrock {
        return None;
    }
    Some(AwsSigner {
        region: config.region.clone()?,
        access_key_id: config.access_key_id.clone()?,
        secret_access_key: config.secret_access_key.clone()?,
        session_token: config.session_token.clone(),
    })
}

/// `text` as one percent-encoded URL path segment.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Provider {
    /// Signs `request` (whose body is `body`) with AWS Signature Version 4,
    /// for a Bedrock provider; a no-op for every other kind.
    pub(super) fn sign(
        &self,
        request: &mut http::Request<http_body_util::Full<bytes::Bytes>>,
        body: &[u8],
    ) -> Result<(), String> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let Some(signer) = &self.signer else {
            return Ok(());
        };
        let credentials = aws_credential_types::Credentials::new(
            signer.access_key_id.expose(),
            signer.secret_access_key.expose(),
            signer.session_token.as_ref().map(|t| t.expose().to_owned()),
            None,
            "steadfast",
        );
        let identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&signer.region)
            .name("bedrock")
            .time(std::time::SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|error| error.to_string())?
            .into();
        let uri = request.uri().to_string();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let signable = SignableRequest::new(
            request.method().as_str(),
            &uri,
            headers,
            SignableBody::Bytes(body),
        )
        .map_err(|error| error.to_string())?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|error| error.to_string())?
            .into_parts();
        for (name, value) in instructions.headers() {
            let mut value = HeaderValue::try_from(value).map_err(|error| error.to_string())?;
            value.set_sensitive(name == "authorization" || name == "x-amz-security-token");
            request.headers_mut().insert(
                HeaderName::try_from(name).map_err(|error| error.to_string())?,
                value,
            );
        }
        Ok(())
    }
}

/// The credential headers of `config`'s kind: (config key, header, value).
fn credentials(config: &ProviderConfig) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    if let Some(key) = &config.api_key {
        out.push(match config.kind {
            ProviderKind::Openai => (
                "api_key",
                "authorization",
                format!("Bearer {}", key.expose()),
            ),
            ProviderKind::Anthropic => ("api_key", "x-api-key", key.expose().to_owned()),
            ProviderKind::Azure => ("api_key", "api-key", key.expose().to_owned()),
            ProviderKind::Gemini => ("api_key", "x-goog-api-key", key.expose().to_owned()),
            // Refused by validation: these sign or fetch tokens instead.
            ProviderKind::Bedrock | ProviderKind::Vertex => {
                ("api_key", "x-api-key", key.expose().to_owned())
            }
        });
    }
    if let Some(token) = &config.bearer_token {
        out.push((
            "bearer_token",
            "authorization",
            format!("Bearer {}", token.expose()),
        ));
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

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
