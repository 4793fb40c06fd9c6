//! Amazon Bedrock's Converse API: calls signed with AWS Signature Version 4.

use http::{HeaderName, HeaderValue};
use steadfast_config::{ProviderConfig, Secret};
use steadfast_wire::Format;

use super::{Probe, ProviderApi};

/// `{base_url}/model/{model}{path}`, the model id percent-encoded (ids such
/// as `anthropic.claude-…-v1:0` hold a colon); every call signed.
#[derive(Debug)]
pub(super) struct Bedrock {
    base_url: String,
    signer: Option<AwsSigner>,
}

/// What signs a call: AWS credentials and the region.
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

impl Bedrock {
    pub(super) fn new(config: &ProviderConfig) -> Bedrock {
        let mut base_url = super::trimmed(config);
        if base_url.is_empty() {
            let region = config.region.as_deref().unwrap_or("us-east-1");
            base_url = format!("https://bedrock-runtime.{region}.amazonaws.com");
        }
        let signer = (|| {
            Some(AwsSigner {
                region: config.region.clone()?,
                access_key_id: config.access_key_id.clone()?,
                secret_access_key: config.secret_access_key.clone()?,
                session_token: config.session_token.clone(),
            })
        })();
        Bedrock { base_url, signer }
    }
}

impl ProviderApi for Bedrock {
    fn format(&self) -> Format {
        Format::Bedrock
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn url(&self, path: &str, model: &str) -> String {
        format!("{}/model/{}{path}", self.base_url, path_segment(model))
    }

    /// Bedrock's runtime has no call that costs no tokens.
    fn probe(&self) -> Option<Probe> {
        None
    }

    fn sign(
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
