//! Google service-account credentials for Vertex AI: a JWT signed with the
//! account's private key (RS256) exchanged at its token endpoint for an
//! access token, kept and sent as a bearer token, and fetched anew a few
//! minutes before it expires (one fetch at a time, whatever the traffic).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Uri};
use http_body_util::Full;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use steadfast::{Failure, FailureKind};
use steadfast_config::ServiceAccount;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{Upstream, read_body};
use crate::error::AttemptError;

/// The scope Vertex AI calls need.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The largest answer taken from the token endpoint.
const MAX_TOKEN_ANSWER: u64 = 64 * 1024;
/// How long before its expiry a token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A service account's tokens.
pub(super) struct GoogleAuth {
    account: ServiceAccount,
    key: EncodingKey,
    token_uri: Uri,
    token: Arc<Mutex<Option<Token>>>,
}

#[derive(Clone)]
struct Token {
    value: HeaderValue,
    refresh_at: Instant,
}

impl PartialEq for GoogleAuth {
    fn eq(&self, other: &GoogleAuth) -> bool {
        self.account == other.account
    }
}

impl Eq for GoogleAuth {}

impl fmt::Debug for GoogleAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleAuth")
            .field("account", &self.account.client_email)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default = "an_hour")]
    expires_in: u64,
}

fn an_hour() -> u64 {
    3600
}

impl GoogleAuth {
    /// The tokens of the service account whose key file is `file`.
    pub(super) fn from_file(file: &str) -> Result<GoogleAuth, String> {
        let account = steadfast_config::read_service_account(file)?;
        let key =
            EncodingKey::from_rsa_pem(account.private_key.expose().as_bytes()).map_err(|_| {
                format!("the key file {file:?} holds no RSA private key the gateway can sign with")
            })?;
        let token_uri = Uri::try_from(account.token_uri.as_str())
            .map_err(|_| format!("the key file {file:?} names no usable token_uri"))?;
        Ok(GoogleAuth {
            account,
            key,
            token_uri,
            token: Arc::new(Mutex::new(None)),
        })
    }

    /// The `Authorization` value of a call: the kept token, or a new one.
    pub(super) async fn authorization(
        &self,
        upstream: &Upstream,
        provider: &str,
    ) -> Result<HeaderValue, AttemptError> {
        let mut token = self.token.lock().await;
        if let Some(kept) = token.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(kept.value.clone());
        }
        let fresh = self.fetch(upstream).await.map_err(|why| {
            AttemptError::new(
                Failure::new(FailureKind::Misconfigured),
                format!("{provider} could not get an access token for its service account: {why}"),
            )
        })?;
        let value = fresh.value.clone();
        *token = Some(fresh);
        Ok(value)
    }

    async fn fetch(&self, upstream: &Upstream) -> Result<Token, String> {
        let now = steadfast_wire::clock::unix_secs();
        let claims = Claims {
            iss: &self.account.client_email,
            scope: SCOPE,
            aud: &self.account.token_uri,
            iat: now,
            exp: now + 3600,
        };
        let assertion = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|error| format!("cannot sign the token request: {error}"))?;
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let mut request = http::Request::new(Full::new(Bytes::from(form)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.token_uri.clone();
        request.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let response = upstream
            .send_raw(request)
            .await
            .map_err(|_| "the token endpoint cannot be reached".to_owned())?;
        let status = response.status();
        let body = read_body(&self.account.client_email, response, MAX_TOKEN_ANSWER)
            .await
            .map_err(|error| error.message)?;
        if !status.is_success() {
            return Err(format!(
                "the token endpoint answered HTTP {}",
                status.as_u16()
            ));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|_| "the token endpoint's answer holds no access_token".to_owned())?;
        let lifetime = Duration::from_secs(answer.expires_in);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        let mut value = HeaderValue::try_from(format!("Bearer {}", answer.access_token))
            .map_err(|_| "the access token is not a header value".to_owned())?;
        value.set_sensitive(true);
        Ok(Token {
            value,
            refresh_at: Instant::now() + lifetime - margin,
        })
    }
}
