//! The JSON form of the library's [`Event`]s, as the event stream and the
//! timeline carry them: `{"type": "breaker_state_changed", "name": "gpt",
//! "from": "closed", "to": "open", "time": 1700000000000}`. Events carry
//! names, states and failure kinds only, so no secret can appear.

use std::time::Duration;

use serde_json::{Value, json};
use steadfast::Failure;
use steadfast::events::Event;

/// The JSON object for `event`, stamped with `time` (Unix milliseconds).
/// `None` for a kind of event this gateway does not know yet.
pub fn event_json(event: &Event, time: u64) -> Option<Value> {
    let mut value = match event {
        Event::BreakerStateChanged { name, from, to } => json!({
            "type": "breaker_state_changed", "name": name,
            "from": from.as_str(), "to": to.as_str(),
        }),
        Event::Rejected { name, by } => json!({
            "type": "rejected", "name": name, "by": by.as_str(),
        }),
        Event::RetryScheduled {
            name,
            attempt,
            delay,
            failure,
        } => json!({
            "type": "retry_scheduled", "name": name, "attempt": attempt,
            "delay_ms": millis(*delay), "failure": failure_json(failure),
        }),
        Event::RetriesExhausted {
            name,
            attempts,
            failure,
        } => json!({
            "type": "retries_exhausted", "name": name, "attempts": attempts,
            "failure": failure_json(failure),
        }),
        Event::RetryBudgetExhausted { name } => json!({
            "type": "retry_budget_exhausted", "name": name,
        }),
        Event::TimedOut { name, after } => json!({
            "type": "timed_out", "name": name, "after_ms": millis(*after),
        }),
        Event::HedgeStarted {
            name,
            attempt,
            after,
        } => json!({
            "type": "hedge_started", "name": name, "attempt": attempt,
            "after_ms": millis(*after),
        }),
        Event::FallbackTaken { from, to, failure } => json!({
            "type": "fallback_taken", "from": from, "to": to,
            "failure": failure.as_ref().map(failure_json),
        }),
        Event::HealthChanged { name, from, to } => json!({
            "type": "health_changed", "name": name,
            "from": from.as_str(), "to": to.as_str(),
        }),
        Event::FaultInjected { name, fault } => json!({
            "type": "fault_injected", "name": name, "fault": fault.as_str(),
        }),
        _ => return None,
    };
    if let Some(object) = value.as_object_mut() {
        object.insert("time".into(), Value::from(time));
    }
    Some(value)
}

fn failure_json(failure: &Failure) -> Value {
    json!({
        "kind": failure.kind.as_str(),
        "retry_after_ms": failure.retry_after.map(millis),
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use steadfast::FailureKind;
    use steadfast::breaker::State;
    use steadfast::events::Rejection;

    use super::*;

    #[test]
    fn breaker_transition_names_both_states() {
        let event = Event::BreakerStateChanged {
            name: "gpt".into(),
            from: State::Closed,
            to: State::Open,
        };
        assert_eq!(
            event_json(&event, 7),
            Some(json!({"type": "breaker_state_changed", "name": "gpt",
                        "from": "closed", "to": "open", "time": 7}))
        );
    }

    #[test]
    fn fallback_carries_the_failure_kind_and_hint() {
        let event = Event::FallbackTaken {
            from: "a".into(),
            to: "b".into(),
            failure: Some(Failure {
                kind: FailureKind::RateLimited,
                retry_after: Some(Duration::from_millis(1500)),
            }),
        };
        let value = event_json(&event, 1).unwrap();
        assert_eq!(value["type"], "fallback_taken");
        assert_eq!(value["failure"]["kind"], "rate_limited");
        assert_eq!(value["failure"]["retry_after_ms"], 1500);
        let skipped = Event::FallbackTaken {
            from: "a".into(),
            to: "b".into(),
            failure: None,
        };
        assert_eq!(event_json(&skipped, 1).unwrap()["failure"], Value::Null);
    }

    #[test]
    fn rejection_names_the_policy() {
        let event = Event::Rejected {
            name: "gpt".into(),
            by: Rejection::BulkheadFull,
        };
        assert_eq!(event_json(&event, 1).unwrap()["by"], "bulkhead_full");
    }
}
