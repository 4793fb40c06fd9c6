//! What the traffic generator saw: one [`Sample`] per request, and live
//! counters for the progress view.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

/// One request as the client saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When it was sent, from the run's start.
    pub start: Duration,
    /// How long until the whole answer was in.
    pub latency: Duration,
    /// The HTTP status; 0 when no answer came.
    pub status: u16,
    /// Whether the client got a whole answer.
    pub ok: bool,
    /// The target that served it (`x-steadfast-target`).
    pub target: Option<String>,
    /// Attempts sent (`x-steadfast-attempts`).
    pub attempts: u32,
    /// Whether it was streamed.
    pub stream: bool,
    /// The class of client that sent it (`traffic.clients`), if any.
    pub class: Option<Arc<str>>,
    /// Where its answer came from, as the gateway said.
    pub answer: AnswerSource,
    /// Whether the same route and prompt had a whole answer before it was sent.
    pub repeat: bool,
}

/// Where an answer came from, as the gateway's headers and error code say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    /// A model (or no answer).
    #[default]
    Model,
    /// The route's cache, without a call (`x-steadfast-cache: hit`).
    Cache,
    /// The route's cache after every target failed (`x-steadfast-cache: stale`).
    Stale,
    /// The route's static last answer (`x-steadfast-static`): not an answer
    /// of a model, so counted as an error.
    Static,
    /// Refused by priority shedding (a 503 `load_shed`).
    Shed,
}

impl Sample {
    /// When the answer was complete, from the run's start.
    pub fn end(&self) -> Duration {
        self.start + self.latency
    }

    /// Whether the client saw an error or a retry.
    pub fn impacted(&self) -> bool {
        !self.ok || self.attempts > 1
    }
}

/// Every sample so far, and live counters.
#[derive(Debug, Default)]
pub struct Recorder {
    samples: Mutex<Vec<Sample>>,
    served: Mutex<BTreeMap<String, u64>>,
    last_target: Mutex<Option<String>>,
    total: AtomicU64,
    errors: AtomicU64,
}

/// The live counters.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// Requests answered so far.
    pub total: u64,
    /// Of which errors.
    pub errors: u64,
    /// Requests served per target.
    pub served: BTreeMap<String, u64>,
    /// The target of the latest answer.
    pub serving: Option<String>,
}

impl Live {
    /// The share of requests answered without error.
    pub fn availability(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            1.0 - self.errors as f64 / self.total as f64
        }
    }
}

impl Recorder {
    /// Adds a sample.
    pub fn record(&self, sample: Sample) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if !sample.ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(target) = sample.target.as_ref().filter(|_| sample.ok) {
            if let Ok(mut served) = self.served.lock() {
                *served.entry(target.clone()).or_default() += 1;
            }
            if let Ok(mut last) = self.last_target.lock() {
                last.clone_from(&sample.target);
            }
        }
        if let Ok(mut samples) = self.samples.lock() {
            samples.push(sample);
        }
    }

    /// The live counters.
    pub fn live(&self) -> Live {
        Live {
            total: self.total.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            served: self.served.lock().map(|s| s.clone()).unwrap_or_default(),
            serving: self.last_target.lock().ok().and_then(|t| t.clone()),
        }
    }

    /// Every sample, sorted by start.
    pub fn samples(&self) -> Vec<Sample> {
        let mut samples = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        samples.sort_by_key(|s| s.start);
        samples
    }
}
