//! Slack incoming webhooks: Slack's message JSON with a `text` fallback and
//! `blocks` (a header, the summary, the details, a context line).

use serde_json::{Value, json};
use steadfast_config::{Secret, SlackChannel};

use super::{DeliveryError, check_status};
use crate::alerts::notice::{Notice, NoticeKind};

/// Slack caps header text at 150 characters.
const HEADER_MAX: usize = 150;

/// A Slack incoming webhook.
#[derive(Debug)]
pub struct Slack {
    url: Secret,
    client: reqwest::Client,
}

impl Slack {
    /// A channel posting to the configured webhook.
    pub fn new(settings: &SlackChannel, client: reqwest::Client) -> Slack {
        Slack {
            url: settings.webhook_url.clone(),
            client,
        }
    }

    /// Posts `notice`.
    pub async fn deliver(&self, notice: &Notice) -> Result<(), DeliveryError> {
        let response = self
            .client
            .post(self.url.expose())
            .json(&payload(notice))
            .send()
            .await?;
        check_status(response)
    }
}

/// Slack's JSON for `notice`.
pub(super) fn payload(notice: &Notice) -> Value {
    let alert = &notice.alert;
    let icon = match notice.event {
        NoticeKind::Resolved => ":white_check_mark:",
        NoticeKind::Escalated => ":rotating_light:",
        NoticeKind::Fired | NoticeKind::Repeated => ":warning:",
    };
    let title = notice.title();
    let header: String = title.chars().take(HEADER_MAX).collect();
    json!({
        "text": format!("{icon} {title}"),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header}},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("{icon} {}", alert.summary)}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": format!("*Rule*\n{} (`{}`)", alert.rule, alert.kind)},
                {"type": "mrkdwn", "text": format!("*Subject*\n{}", alert.subject)},
                {"type": "mrkdwn", "text": format!("*State*\n{}", notice.event.as_str())},
                {"type": "mrkdwn", "text": format!("*Since*\n{}", alert.since)},
            ]},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": format!("steadfast gateway · alert `{}`", alert.id)},
            ]},
        ],
    })
}
