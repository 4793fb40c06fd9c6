//! The `alerts:` section: rules over the gateway's live state, the channels
//! they notify (Slack, signed webhooks, email), and when alerts repeat and
//! escalate.

pub(super) mod validate;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::ConfigDuration;
use super::env::Secret;

/// Alerting: rules, channels and timing.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// The conditions that raise alerts.
    pub rules: Vec<AlertRule>,
    /// Where alerts are sent, by name.
    pub channels: BTreeMap<String, ChannelConfig>,
    /// An active alert is sent again at most this often.
    pub repeat_interval: ConfigDuration,
    /// An alert still active after this long goes to the rule's `escalate_to` channels.
    pub escalate_after: ConfigDuration,
    /// How often the rules are evaluated (events such as a breaker opening
    /// also trigger an evaluation at once).
    pub evaluate_every: ConfigDuration,
}

impl Default for AlertsConfig {
    fn default() -> AlertsConfig {
        AlertsConfig {
            rules: Vec::new(),
            channels: BTreeMap::new(),
            repeat_interval: ConfigDuration::secs(3600),
            escalate_after: ConfigDuration::secs(300),
            evaluate_every: ConfigDuration::secs(1),
        }
    }
}

/// What an alert rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A target failed `count` attempts in a row (default 3).
    ConsecutiveFailures,
    /// A target's attempts (every target, or `target`), or a route's requests
    /// (when `route` is set), failed at `rate` or more over `window` (default
    /// 20% over 5m, judged from `min_requests` requests, default 10).
    FailureRate,
    /// A target's circuit breaker opened; resolved when it closes again.
    BreakerOpened,
    /// Every target of a route is unavailable (breaker open or unhealthy).
    RouteUnavailable,
    /// A target's latency `percentile` is above `threshold`.
    Latency,
    /// A target's provider refused the gateway's credentials (401/403).
    Misconfigured,
}

impl RuleKind {
    /// The snake_case name used in the config, logs and notifications.
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleKind::ConsecutiveFailures => "consecutive_failures",
            RuleKind::FailureRate => "failure_rate",
            RuleKind::BreakerOpened => "breaker_opened",
            RuleKind::RouteUnavailable => "route_unavailable",
            RuleKind::Latency => "latency",
            RuleKind::Misconfigured => "misconfigured",
        }
    }
}

/// One alert rule. Settings that do not apply to its `kind` are refused.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// The rule's name, unique among rules; alerts are named after it.
    pub name: String,
    /// What the rule watches.
    pub kind: RuleKind,
    /// The model watched; none watches every model (kinds about targets).
    #[serde(default)]
    pub target: Option<String>,
    /// The route watched (`route_unavailable`, `failure_rate`); none watches every route.
    #[serde(default)]
    pub route: Option<String>,
    /// Failures in a row (`consecutive_failures`, default 3).
    #[serde(default)]
    pub count: Option<u32>,
    /// Failure rate in (0, 1] (`failure_rate`, default 0.2).
    #[serde(default)]
    pub rate: Option<f64>,
    /// The window the rate is computed over (`failure_rate`, default 5m).
    #[serde(default)]
    pub window: Option<ConfigDuration>,
    /// Requests in the window before the rate is judged (`failure_rate`, default 10).
    #[serde(default)]
    pub min_requests: Option<u64>,
    /// The latency percentile in (0, 1) (`latency`, default 0.99).
    #[serde(default)]
    pub percentile: Option<f64>,
    /// The latency above which the rule fires (`latency`, required).
    #[serde(default)]
    pub threshold: Option<ConfigDuration>,
    /// Channels (keys of `alerts.channels`) notified when the alert fires,
    /// repeats and resolves.
    pub channels: Vec<String>,
    /// Channels notified when the alert is still active after `escalate_after`.
    #[serde(default)]
    pub escalate_to: Vec<String>,
}

/// The defaults every rule setting falls back to.
impl AlertRule {
    /// Failures in a row that fire a `consecutive_failures` rule.
    pub fn count_or_default(&self) -> u32 {
        self.count.unwrap_or(3)
    }

    /// The failure rate that fires a `failure_rate` rule.
    pub fn rate_or_default(&self) -> f64 {
        self.rate.unwrap_or(0.2)
    }

    /// The window of a `failure_rate` rule.
    pub fn window_or_default(&self) -> std::time::Duration {
        self.window
            .map_or(std::time::Duration::from_secs(300), |w| w.0)
    }

    /// Requests in the window before a `failure_rate` rule judges.
    pub fn min_requests_or_default(&self) -> u64 {
        self.min_requests.unwrap_or(10)
    }

    /// The percentile of a `latency` rule.
    pub fn percentile_or_default(&self) -> f64 {
        self.percentile.unwrap_or(0.99)
    }
}

/// Where alerts are sent.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelConfig {
    /// A Slack incoming webhook.
    Slack(SlackChannel),
    /// A JSON POST to any URL, signed with HMAC-SHA256.
    Webhook(WebhookChannel),
    /// Email over SMTP.
    Email(EmailChannel),
}

/// A Slack incoming webhook.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackChannel {
    /// The webhook URL, from the environment: `"${SLACK_WEBHOOK_URL}"`.
    pub webhook_url: Secret,
}

/// A generic JSON webhook.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannel {
    /// Where to POST.
    pub url: String,
    /// Key of the `X-Steadfast-Signature: sha256=<hex HMAC-SHA256 of the body>`
    /// header, from the environment; none sends no signature.
    #[serde(default)]
    pub secret: Option<Secret>,
}

/// Email over SMTP.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChannel {
    /// The SMTP server's host name.
    pub host: String,
    /// The SMTP server's port.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// How the connection is secured.
    #[serde(default)]
    pub tls: SmtpTls,
    /// The SMTP user, from the environment.
    #[serde(default)]
    pub username: Option<Secret>,
    /// The SMTP password, from the environment.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender, e.g. `"Steadfast <alerts@example.com>"`.
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
}

fn default_smtp_port() -> u16 {
    587
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// No encryption (a local relay only).
    None,
}
