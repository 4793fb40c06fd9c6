//! The traffic generator: chat completions at a rate (open loop) or from a
//! number of clients sending back to back (closed loop), plain or streamed,
//! with prompt sizes and routes drawn from the scenario's seed.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use steadfast::rng::Rng;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use super::record::{AnswerSource, Recorder, Sample};
use super::scenario::Traffic;

/// Most requests in flight at once in open-loop mode; past it ticks wait.
const MAX_IN_FLIGHT: usize = 4096;

const WORDS: [&str; 8] = [
    "steady", "models", "answer", "when", "others", "fail", "over", "time",
];

/// Sends the scenario's traffic to one gateway.
#[derive(Debug, Clone)]
pub struct Generator {
    client: reqwest::Client,
    url: String,
    traffic: Traffic,
    /// The classes of clients: each one's name and key.
    classes: Arc<Vec<(Arc<str>, String)>>,
    /// Each class's share, in the same order.
    shares: Arc<Vec<f64>>,
    rng: Arc<Rng>,
    recorder: Arc<Recorder>,
    /// Route and prompt length of every request that got a whole answer.
    answered: Arc<Mutex<HashSet<(usize, u64)>>>,
    started: Instant,
    duration: Duration,
}

impl Generator {
    /// A generator for `url`'s chat endpoint; samples go to `recorder`, timed
    /// from `started`.
    pub fn new(
        url: &str,
        traffic: Traffic,
        seed: u64,
        recorder: Arc<Recorder>,
        started: Instant,
        duration: Duration,
    ) -> anyhow::Result<Generator> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(traffic.timeout.0)
            .build()?;
        let classes = traffic
            .clients
            .iter()
            .map(|(name, class)| (Arc::from(name.as_str()), class.key.clone()))
            .collect();
        let shares = traffic.clients.values().map(|class| class.share).collect();
        Ok(Generator {
            client,
            url: format!("{url}/v1/chat/completions"),
            traffic,
            classes: Arc::new(classes),
            shares: Arc::new(shares),
            answered: Arc::default(),
            rng: Arc::new(Rng::with_seed(seed)),
            recorder,
            started,
            duration,
        })
    }

    /// Sends traffic for the run's duration, then waits for the last answers.
    pub async fn run(self) {
        let mut in_flight = JoinSet::new();
        if let Some(clients) = self.traffic.concurrency {
            for _ in 0..clients {
                let generator = self.clone();
                in_flight.spawn(async move {
                    while generator.started.elapsed() < generator.duration {
                        generator.one().await;
                    }
                });
            }
        } else {
            let rate = self.traffic.rate.unwrap_or(1.0);
            let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
            while self.started.elapsed() < self.duration {
                ticks.tick().await;
                while in_flight.len() >= MAX_IN_FLIGHT {
                    in_flight.join_next().await;
                }
                while in_flight.try_join_next().is_some() {}
                let generator = self.clone();
                in_flight.spawn(async move { generator.one().await });
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    /// The class of the next request, by the classes' shares.
    fn class(&self) -> Option<&(Arc<str>, String)> {
        self.rng
            .weighted(&self.shares)
            .and_then(|index| self.classes.get(index))
    }

    /// Sends one request and records what came of it.
    async fn one(&self) {
        let route_index = self.rng.below(self.traffic.routes.len() as u64) as usize;
        let route = &self.traffic.routes[route_index];
        let [fewest, most] = self.traffic.prompt_words;
        let words = u64::from(fewest) + self.rng.below(u64::from(most - fewest) + 1);
        let prompt: Vec<&str> = (0..words as usize)
            .map(|i| WORDS[i % WORDS.len()])
            .collect();
        let stream = self.rng.chance(self.traffic.stream_share);
        let mut body = json!({
            "model": route,
            "messages": [{"role": "user", "content": prompt.join(" ")}],
            "stream": stream,
        });
        if self.traffic.deterministic {
            body["temperature"] = json!(0);
        }
        if stream {
            // As clients that count their tokens do.
            body["stream_options"] = json!({"include_usage": true});
        }
        let class = self.class();
        let repeat = self
            .answered
            .lock()
            .is_ok_and(|answered| answered.contains(&(route_index, words)));
        let start = self.started.elapsed();
        let clock = Instant::now();
        let mut sample = Sample {
            start,
            latency: Duration::ZERO,
            status: 0,
            ok: false,
            target: None,
            attempts: 0,
            stream,
            class: class.map(|(name, _)| Arc::clone(name)),
            answer: AnswerSource::Model,
            repeat,
        };
        let mut request = self.client.post(&self.url).json(&body);
        if let Some((_, key)) = class {
            request = request.bearer_auth(key);
        }
        if let Ok(response) = request.send().await {
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            sample.status = response.status().as_u16();
            sample.target = header("x-steadfast-target");
            sample.attempts = header("x-steadfast-attempts")
                .and_then(|a| a.parse().ok())
                .unwrap_or(0);
            sample.answer = match header("x-steadfast-cache").as_deref() {
                Some("hit") => AnswerSource::Cache,
                Some("stale") => AnswerSource::Stale,
                _ if header("x-steadfast-static").is_some() => AnswerSource::Static,
                _ => AnswerSource::Model,
            };
            let success = response.status().is_success();
            let text = response.text().await;
            if !success && text.as_ref().is_ok_and(|t| t.contains("\"load_shed\"")) {
                sample.answer = AnswerSource::Shed;
            }
            sample.ok = match text {
                Ok(text) => {
                    success
                        && (!stream || whole_stream(&text))
                        && sample.answer != AnswerSource::Static
                }
                Err(_) => false,
            };
        }
        sample.latency = clock.elapsed();
        if sample.ok {
            if let Ok(mut answered) = self.answered.lock() {
                answered.insert((route_index, words));
            }
        }
        self.recorder.record(sample);
    }
}

/// Whether a server-sent event stream ended with `[DONE]` and carried no error.
fn whole_stream(text: &str) -> bool {
    let mut done = false;
    for data in text.lines().filter_map(|line| line.strip_prefix("data:")) {
        let data = data.trim();
        if data == "[DONE]" {
            done = true;
        } else if serde_json::from_str::<Value>(data)
            .is_ok_and(|event| event.get("error").is_some())
        {
            return false;
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::whole_stream;

    #[test]
    fn a_stream_is_whole_only_with_done_and_no_error() {
        assert!(whole_stream("data: {\"choices\":[]}\n\ndata: [DONE]\n\n"));
        assert!(!whole_stream("data: {\"choices\":[]}\n\n"));
        assert!(!whole_stream(
            "data: {\"error\":{\"message\":\"cut\"}}\n\ndata: [DONE]\n\n"
        ));
    }
}
