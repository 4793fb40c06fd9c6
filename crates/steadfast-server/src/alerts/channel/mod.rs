//! Channels: where notices go. Each kind formats and sends one notice and
//! reports a [`DeliveryError`] that never holds a secret (no webhook URL, no
//! password); retries and queues live in the outbox.

mod email;
mod slack;
mod webhook;

use std::time::Duration;

use steadfast::classify::AsFailure;
use steadfast::classify::http::classify_status;
use steadfast::{Failure, FailureKind};
use steadfast_config::ChannelConfig;

use super::notice::Notice;

/// Longest time one delivery attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a notice could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver answered with an error status.
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
    /// The HTTP request failed (connection, timeout); the URL is left out.
    #[error("the request failed: {0}")]
    Http(reqwest::Error),
    /// The SMTP server refused or could not be reached.
    #[error("SMTP: {0}")]
    Smtp(String),
    /// The channel's settings cannot be used (found when it was built).
    #[error("the channel cannot be used: {0}")]
    Unusable(String),
}

/// What the outbox's retry makes of a failed delivery: a receiver's status
/// as the HTTP classification reads it (5xx and 429 are worth another try;
/// a 4xx, a channel that cannot be used, are not), a timeout as a timeout,
/// anything else as passing.
impl AsFailure for DeliveryError {
    fn as_failure(&self) -> Failure {
        match self {
            DeliveryError::Status(status) => classify_status(*status, None, b"")
                .failure()
                .unwrap_or_else(Failure::transient),
            DeliveryError::Http(error) if error.is_timeout() => Failure::timeout(),
            DeliveryError::Http(_) | DeliveryError::Smtp(_) => Failure::transient(),
            DeliveryError::Unusable(_) => Failure::new(FailureKind::Misconfigured),
        }
    }
}

impl From<reqwest::Error> for DeliveryError {
    fn from(error: reqwest::Error) -> DeliveryError {
        DeliveryError::Http(error.without_url())
    }
}

/// One configured channel, ready to send.
#[derive(Debug)]
pub enum Channel {
    /// A Slack incoming webhook.
    Slack(slack::Slack),
    /// A signed JSON webhook.
    Webhook(webhook::Webhook),
    /// Email over SMTP.
    Email(email::Email),
    /// A channel whose settings failed to build; every delivery fails with why.
    Broken(String),
}

impl Channel {
    /// Builds a channel from its settings; `client` is shared by HTTP channels.
    pub fn new(settings: &ChannelConfig, client: &reqwest::Client) -> Channel {
        match settings {
            ChannelConfig::Slack(slack) => Channel::Slack(slack::Slack::new(slack, client.clone())),
            ChannelConfig::Webhook(hook) => {
                Channel::Webhook(webhook::Webhook::new(hook, client.clone()))
            }
            ChannelConfig::Email(email) => match email::Email::new(email) {
                Ok(email) => Channel::Email(email),
                Err(error) => Channel::Broken(error.to_string()),
            },
        }
    }

    /// The channel's kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Slack(_) => "slack",
            Channel::Webhook(_) => "webhook",
            Channel::Email(_) => "email",
            Channel::Broken(_) => "broken",
        }
    }

    /// Sends `notice` once.
    pub async fn deliver(&self, notice: &Notice) -> Result<(), DeliveryError> {
        match self {
            Channel::Slack(slack) => slack.deliver(notice).await,
            Channel::Webhook(hook) => hook.deliver(notice).await,
            Channel::Email(email) => email.deliver(notice).await,
            Channel::Broken(why) => Err(DeliveryError::Unusable(why.clone())),
        }
    }
}

/// Turns an HTTP answer into a delivery result.
fn check_status(response: reqwest::Response) -> Result<(), DeliveryError> {
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Status(status.as_u16()))
    }
}
