//! Generic webhooks: the notice as JSON, POSTed with
//! `X-Steadfast-Signature: sha256=<hex HMAC-SHA256 of the body>` when a secret
//! is configured, so the receiver can check it came from this gateway.

use hmac::{Hmac, Mac};
use http::header::CONTENT_TYPE;
use serde_json::json;
use sha2::Sha256;
use steadfast_config::{Secret, WebhookChannel};

use super::{DeliveryError, check_status};
use crate::alerts::notice::Notice;

/// The signature header.
pub(super) const SIGNATURE_HEADER: &str = "x-steadfast-signature";

/// A generic JSON webhook.
#[derive(Debug)]
pub struct Webhook {
    url: String,
    secret: Option<Secret>,
    client: reqwest::Client,
}

impl Webhook {
    /// A channel posting to the configured URL.
    pub fn new(settings: &WebhookChannel, client: reqwest::Client) -> Webhook {
        Webhook {
            url: settings.url.clone(),
            secret: settings.secret.clone(),
            client,
        }
    }

    /// Posts `notice`, signed.
    pub async fn deliver(&self, notice: &Notice) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&json!({
            "event": notice.event,
            "title": notice.title(),
            "alert": notice.alert,
        }))
        .unwrap_or_default();
        let mut request = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header("x-steadfast-event", notice.event.as_str());
        if let Some(secret) = &self.secret {
            request = request.header(
                SIGNATURE_HEADER,
                signature(secret.expose().as_bytes(), &body),
            );
        }
        check_status(request.body(body).send().await?)
    }
}

/// `sha256=<hex HMAC-SHA256 of body under key>`.
pub(super) fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_rfc_4231_test_case_2() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
