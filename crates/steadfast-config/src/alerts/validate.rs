//! Checks of the `alerts:` section: timing, rule settings against their kind,
//! references to models, routes and channels, and channel addresses. No
//! reason quotes a secret (the Slack URL is one).

use std::collections::HashSet;

use lettre::message::Mailbox;

use super::{AlertRule, ChannelConfig, RuleKind};
use crate::Config;

/// Every problem of `config.alerts`, reported through `report(path, reason)`.
pub(crate) fn problems(config: &Config, report: &mut impl FnMut(String, String)) {
    let alerts = &config.alerts;
    for (key, value) in [
        ("repeat_interval", alerts.repeat_interval),
        ("escalate_after", alerts.escalate_after),
        ("evaluate_every", alerts.evaluate_every),
    ] {
        if value.0.is_zero() {
            report(format!("alerts.{key}"), "must be greater than 0".into());
        }
    }
    let mut names = HashSet::new();
    for (index, rule) in alerts.rules.iter().enumerate() {
        let path = format!("alerts.rules[{index}]");
        if rule.name.trim().is_empty() {
            report(format!("{path}.name"), "is empty".into());
        } else if !names.insert(rule.name.as_str()) {
            report(
                format!("{path}.name"),
                format!("rule {:?} is defined twice", rule.name),
            );
        }
        rule_problems(config, rule, &path, report);
    }
    for (name, channel) in &alerts.channels {
        channel_problems(channel, &format!("alerts.channels.{name}"), report);
    }
}

fn rule_problems(
    config: &Config,
    rule: &AlertRule,
    path: &str,
    report: &mut impl FnMut(String, String),
) {
    let kind = rule.kind;
    let allowed: &[&str] = match kind {
        RuleKind::ConsecutiveFailures => &["target", "count"],
        RuleKind::FailureRate => &["target", "route", "rate", "window", "min_requests"],
        RuleKind::BreakerOpened | RuleKind::Misconfigured => &["target"],
        RuleKind::RouteUnavailable => &["route"],
        RuleKind::Latency => &["target", "percentile", "threshold"],
    };
    let set = [
        ("target", rule.target.is_some()),
        ("route", rule.route.is_some()),
        ("count", rule.count.is_some()),
        ("rate", rule.rate.is_some()),
        ("window", rule.window.is_some()),
        ("min_requests", rule.min_requests.is_some()),
        ("percentile", rule.percentile.is_some()),
        ("threshold", rule.threshold.is_some()),
    ];
    for (key, _) in set.iter().filter(|(key, on)| *on && !allowed.contains(key)) {
        report(
            format!("{path}.{key}"),
            format!("does not apply to kind {}", kind.as_str()),
        );
    }
    if rule.target.is_some() && rule.route.is_some() {
        report(
            format!("{path}.route"),
            "set target or route, not both".into(),
        );
    }
    if let Some(target) = &rule.target {
        if !config.models.contains_key(target) {
            report(
                format!("{path}.target"),
                format!("unknown model {target:?}"),
            );
        }
    }
    if let Some(route) = &rule.route {
        if !config.routes.contains_key(route) {
            report(format!("{path}.route"), format!("unknown route {route:?}"));
        }
    }
    if rule.count == Some(0) {
        report(format!("{path}.count"), "must be at least 1".into());
    }
    if rule.rate.is_some_and(|rate| !(rate > 0.0 && rate <= 1.0)) {
        report(format!("{path}.rate"), "must be in (0, 1]".into());
    }
    if rule.window.is_some_and(|window| window.0.is_zero()) {
        report(format!("{path}.window"), "must be greater than 0".into());
    }
    if rule.percentile.is_some_and(|p| !(p > 0.0 && p < 1.0)) {
        report(format!("{path}.percentile"), "must be in (0, 1)".into());
    }
    if kind == RuleKind::Latency && rule.threshold.is_none_or(|t| t.0.is_zero()) {
        report(
            format!("{path}.threshold"),
            "a latency rule needs a threshold greater than 0, e.g. \"5s\"".into(),
        );
    }
    if rule.channels.is_empty() {
        report(
            format!("{path}.channels"),
            "needs at least one channel".into(),
        );
    }
    for (key, list) in [
        ("channels", &rule.channels),
        ("escalate_to", &rule.escalate_to),
    ] {
        for (index, channel) in list.iter().enumerate() {
            if !config.alerts.channels.contains_key(channel) {
                report(
                    format!("{path}.{key}[{index}]"),
                    format!("unknown channel {channel:?}"),
                );
            }
        }
    }
}

fn channel_problems(channel: &ChannelConfig, path: &str, report: &mut impl FnMut(String, String)) {
    match channel {
        ChannelConfig::Slack(slack) => {
            if !is_http_url(slack.webhook_url.expose()) {
                report(
                    format!("{path}.webhook_url"),
                    "must be an http:// or https:// URL with a host".into(),
                );
            }
        }
        ChannelConfig::Webhook(webhook) => {
            if !is_http_url(&webhook.url) {
                report(
                    format!("{path}.url"),
                    "must be an http:// or https:// URL with a host".into(),
                );
            }
            if webhook
                .secret
                .as_ref()
                .is_some_and(|s| s.expose().is_empty())
            {
                report(format!("{path}.secret"), "is empty".into());
            }
        }
        ChannelConfig::Email(email) => {
            if email.host.trim().is_empty() {
                report(format!("{path}.host"), "is empty".into());
            }
            if email.port == 0 {
                report(format!("{path}.port"), "must be greater than 0".into());
            }
            if email.username.is_some() != email.password.is_some() {
                report(
                    format!("{path}.password"),
                    "set both username and password, or neither".into(),
                );
            }
            if email.from.parse::<Mailbox>().is_err() {
                report(
                    format!("{path}.from"),
                    format!("not an email address: {:?}", email.from),
                );
            }
            if email.to.is_empty() {
                report(format!("{path}.to"), "needs at least one recipient".into());
            }
            for (index, to) in email.to.iter().enumerate() {
                if to.parse::<Mailbox>().is_err() {
                    report(
                        format!("{path}.to[{index}]"),
                        format!("not an email address: {to:?}"),
                    );
                }
            }
        }
    }
}

fn is_http_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}
