//! What is sent: a [`Notice`] about one alert (fired, repeated, escalated or
//! resolved) to a list of channels, and the alert as `GET /api/alerts` and
//! every channel show it. Nothing here holds a secret.

use std::sync::Arc;

use serde::Serialize;

/// Why a notice is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The condition started to hold.
    Fired,
    /// The alert is still active after `repeat_interval`.
    Repeated,
    /// The alert is still active after `escalate_after`.
    Escalated,
    /// The condition no longer holds.
    Resolved,
}

impl NoticeKind {
    /// The snake_case name used in logs and payloads.
    pub const fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Fired => "fired",
            NoticeKind::Repeated => "repeated",
            NoticeKind::Escalated => "escalated",
            NoticeKind::Resolved => "resolved",
        }
    }
}

/// An alert as shown to people and machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertView {
    /// `rule/subject`, stable while the alert is active.
    pub id: String,
    /// The rule's name.
    pub rule: String,
    /// The rule's kind (`consecutive_failures`, …).
    pub kind: &'static str,
    /// The model or route the alert is about.
    pub subject: String,
    /// What is wrong (the latest reading).
    pub summary: String,
    /// When it fired, RFC 3339 (UTC).
    pub since: String,
    /// Whether it went to the escalation channels.
    pub escalated: bool,
}

/// One notice about one alert, for a list of channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Why it is sent.
    pub event: NoticeKind,
    /// The alert.
    pub alert: AlertView,
    /// The channels (keys of `alerts.channels`) it goes to.
    #[serde(skip)]
    pub channels: Vec<Arc<str>>,
}

impl Notice {
    /// A one-line title, e.g. `[FIRING] m0-failing: model m0: 3 failures in a row`.
    pub fn title(&self) -> String {
        let tag = match self.event {
            NoticeKind::Fired => "FIRING",
            NoticeKind::Repeated => "STILL FIRING",
            NoticeKind::Escalated => "ESCALATED",
            NoticeKind::Resolved => "RESOLVED",
        };
        format!("[{tag}] {}: {}", self.alert.rule, self.alert.summary)
    }

    /// A few lines of plain text for bodies.
    pub fn text(&self) -> String {
        let alert = &self.alert;
        let state = match self.event {
            NoticeKind::Resolved => "resolved",
            _ if alert.escalated => "active, escalated",
            _ => "active",
        };
        format!(
            "{}\n\nrule: {} ({})\nsubject: {}\nstate: {state}\nsince: {}\nalert id: {}\n\n-- steadfast gateway",
            alert.summary, alert.rule, alert.kind, alert.subject, alert.since, alert.id
        )
    }
}
