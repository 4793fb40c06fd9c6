//! The alert engine: a pure state machine over the conditions that hold at
//! each evaluation. An alert fires once when its condition starts to hold,
//! repeats at most every `repeat_interval` while it holds, escalates once to
//! its rule's `escalate_to` channels after `escalate_after`, and sends a
//! resolved notice when the condition clears. Time comes in as an argument
//! (tokio's clock in the gateway), so tests drive it with paused time.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use steadfast_config::AlertRule;
use steadfast_wire::clock::rfc3339_now;
use tokio::time::Instant;

use super::notice::{AlertView, Notice, NoticeKind};
use super::rules::Condition;

/// When active alerts are sent again and escalated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Least time between two notices of one alert to its channels.
    pub repeat_interval: Duration,
    /// Time after firing before the escalation channels are told.
    pub escalate_after: Duration,
}

#[derive(Debug)]
struct Active {
    rule: Arc<AlertRule>,
    view: AlertView,
    fired_at: Instant,
    last_sent: Instant,
}

impl Active {
    /// The rule's channels, plus its escalation channels once escalated.
    fn audience(&self) -> Vec<Arc<str>> {
        let mut channels: Vec<Arc<str>> = self
            .rule
            .channels
            .iter()
            .map(|c| c.as_str().into())
            .collect();
        if self.view.escalated {
            for channel in &self.rule.escalate_to {
                if !self.rule.channels.contains(channel) {
                    channels.push(channel.as_str().into());
                }
            }
        }
        channels
    }

    fn notice(&self, event: NoticeKind, channels: Vec<Arc<str>>) -> Notice {
        Notice {
            event,
            alert: self.view.clone(),
            channels,
        }
    }
}

/// Active alerts and the notices their changes call for.
#[derive(Debug)]
pub struct Engine {
    timing: Timing,
    active: BTreeMap<String, Active>,
}

impl Engine {
    /// An engine with no active alert.
    pub fn new(timing: Timing) -> Engine {
        Engine {
            timing,
            active: BTreeMap::new(),
        }
    }

    /// Changes the timing (after a config reload); active alerts stay.
    pub fn set_timing(&mut self, timing: Timing) {
        self.timing = timing;
    }

    /// The active alerts, by id.
    pub fn active(&self) -> Vec<AlertView> {
        self.active.values().map(|a| a.view.clone()).collect()
    }

    /// Takes the conditions that hold at `now` and returns the notices due.
    pub fn evaluate(&mut self, now: Instant, conditions: Vec<Condition>) -> Vec<Notice> {
        let mut notices = Vec::new();
        let mut holding = HashSet::new();
        for condition in conditions {
            let id = format!("{}/{}", condition.rule.name, condition.subject);
            holding.insert(id.clone());
            if let Some(active) = self.active.get_mut(&id) {
                active.view.summary = condition.summary;
                active.rule = condition.rule;
                continue;
            }
            let active = Active {
                view: AlertView {
                    id: id.clone(),
                    rule: condition.rule.name.clone(),
                    kind: condition.rule.kind.as_str(),
                    subject: condition.subject.to_string(),
                    summary: condition.summary,
                    since: rfc3339_now(),
                    escalated: false,
                },
                rule: condition.rule,
                fired_at: now,
                last_sent: now,
            };
            notices.push(active.notice(NoticeKind::Fired, active.audience()));
            self.active.insert(id, active);
        }
        let cleared: Vec<String> = self
            .active
            .keys()
            .filter(|id| !holding.contains(*id))
            .cloned()
            .collect();
        for id in cleared {
            if let Some(active) = self.active.remove(&id) {
                notices.push(active.notice(NoticeKind::Resolved, active.audience()));
            }
        }
        for active in self.active.values_mut() {
            let due = active.fired_at + self.timing.escalate_after;
            if !active.view.escalated && !active.rule.escalate_to.is_empty() && now >= due {
                active.view.escalated = true;
                let channels = active
                    .rule
                    .escalate_to
                    .iter()
                    .map(|c| c.as_str().into())
                    .collect();
                notices.push(active.notice(NoticeKind::Escalated, channels));
            }
            if now >= active.last_sent + self.timing.repeat_interval {
                active.last_sent = now;
                notices.push(active.notice(NoticeKind::Repeated, active.audience()));
            }
        }
        notices
    }
}

#[cfg(test)]
mod tests;
