//! The dashboard's memory: a ring of per-second samples (the last ten
//! minutes) and a ring of the latest events, both bounded so a long-running
//! gateway holds a fixed amount.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use serde_json::Value;

/// How many per-second samples are kept: ten minutes.
pub(super) const SAMPLES: usize = 600;
/// How many events the timeline keeps.
pub(super) const EVENTS: usize = 200;

/// One second of traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// When the second ended, in Unix milliseconds.
    pub time: u64,
    /// What each target did in that second, by model name.
    pub targets: BTreeMap<String, TargetSample>,
}

/// One target's second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TargetSample {
    /// Attempts that ended in the second.
    pub attempts: u64,
    /// Of those, the ones that failed.
    pub failures: u64,
    /// Median latency of recent successful attempts, in milliseconds.
    pub p50_ms: Option<f64>,
    /// 99th percentile latency of recent successful attempts, in milliseconds.
    pub p99_ms: Option<f64>,
}

/// Attempts and failures summed over some recent seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recent {
    /// Attempts that ended.
    pub attempts: u64,
    /// Of those, the ones that failed.
    pub failures: u64,
}

/// The bounded history.
#[derive(Debug, Default, Serialize)]
pub struct History {
    samples: VecDeque<Sample>,
    events: VecDeque<Value>,
}

impl History {
    /// Adds a second, dropping the oldest past `SAMPLES`.
    pub fn push_sample(&mut self, sample: Sample) {
        push_bounded(&mut self.samples, sample, SAMPLES);
    }

    /// Adds an event, dropping the oldest past `EVENTS`. An event equal to
    /// the newest one but for its time (the same failover, again and again
    /// during an outage) is folded into it: its `"count"` goes up and its
    /// `"time"` moves on, so a burst takes one line of the timeline.
    pub fn push_event(&mut self, mut event: Value) {
        if let Some(newest) = self.events.back_mut() {
            if same_but_time(newest, &event) {
                let count = newest.get("count").and_then(Value::as_u64).unwrap_or(1);
                newest["count"] = Value::from(count + 1);
                newest["time"] = event["time"].take();
                return;
            }
        }
        push_bounded(&mut self.events, event, EVENTS);
    }

    /// The samples, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter()
    }

    /// The events, oldest first.
    pub fn events(&self) -> impl Iterator<Item = &Value> {
        self.events.iter()
    }

    /// Each target's attempts and failures over the last `seconds` samples.
    pub fn recent(&self, seconds: usize) -> BTreeMap<String, Recent> {
        let mut sums: BTreeMap<String, Recent> = BTreeMap::new();
        let skip = self.samples.len().saturating_sub(seconds);
        for sample in self.samples.iter().skip(skip) {
            for (name, target) in &sample.targets {
                let sum = sums.entry(name.clone()).or_default();
                sum.attempts += target.attempts;
                sum.failures += target.failures;
            }
        }
        sums
    }
}

/// Whether two events differ at most in `"time"` and `"count"`.
fn same_but_time(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return false;
    };
    let significant = |key: &String| key != "time" && key != "count";
    a.keys().filter(|k| significant(k)).count() == b.keys().filter(|k| significant(k)).count()
        && a.iter()
            .filter(|(k, _)| significant(k))
            .all(|(k, v)| b.get(k) == Some(v))
}

/// Appends `item`, dropping the oldest first when `ring` holds `bound`.
pub fn push_bounded<T>(ring: &mut VecDeque<T>, item: T, bound: usize) {
    if ring.len() == bound {
        ring.pop_front();
    }
    ring.push_back(item);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample(time: u64, attempts: u64, failures: u64) -> Sample {
        let target = TargetSample {
            attempts,
            failures,
            p50_ms: None,
            p99_ms: None,
        };
        Sample {
            time,
            targets: BTreeMap::from([("gpt".to_owned(), target)]),
        }
    }

    #[test]
    fn rings_stay_bounded_and_keep_the_newest() {
        let mut history = History::default();
        for i in 0..(SAMPLES as u64 + 5) {
            history.push_sample(sample(i, 1, 0));
        }
        for i in 0..(EVENTS + 3) {
            history.push_event(json!({"type": "x", "i": i}));
        }
        assert_eq!(history.samples().count(), SAMPLES);
        assert_eq!(history.samples().next().map(|s| s.time), Some(5));
        assert_eq!(history.events().count(), EVENTS);
        assert_eq!(history.events().next().unwrap()["i"], 3);
    }

    #[test]
    fn repeated_events_fold_into_one_line() {
        let mut history = History::default();
        let failover =
            |time: u64| json!({"type": "fallback_taken", "from": "a", "to": "b", "time": time});
        history.push_event(failover(1));
        history.push_event(failover(2));
        history.push_event(failover(3));
        history.push_event(json!({"type": "reload", "time": 4}));
        history.push_event(failover(5));
        let events: Vec<&Value> = history.events().collect();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0]["count"], 3);
        assert_eq!(events[0]["time"], 3);
        assert_eq!(events[2]["count"], Value::Null);
    }

    #[test]
    fn recent_sums_only_the_last_seconds() {
        let mut history = History::default();
        history.push_sample(sample(1, 100, 100));
        history.push_sample(sample(2, 3, 1));
        history.push_sample(sample(3, 2, 0));
        assert_eq!(
            history.recent(2).get("gpt"),
            Some(&Recent {
                attempts: 5,
                failures: 1
            })
        );
        assert!(History::default().recent(60).is_empty());
    }
}
