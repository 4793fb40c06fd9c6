//! The traffic generator: chat completions at a rate (open loop) or from a
//! number of clients sending back to back (closed loop), plain or streamed,
//! with prompt sizes and routes drawn from the scenario's seed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use steadfast::rng::Rng;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use super::record::{Recorder, Sample};
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
    rng: Arc<Rng>,
    recorder: Arc<Recorder>,
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
        Ok(Generator {
            client,
            url: format!("{url}/v1/chat/completions"),
            traffic,
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

    /// Sends one request and records what came of it.
    async fn one(&self) {
        let route = &self.traffic.routes[self.rng.below(self.traffic.routes.len() as u64) as usize];
        let [fewest, most] = self.traffic.prompt_words;
        let words = u64::from(fewest) + self.rng.below(u64::from(most - fewest) + 1);
        let prompt: Vec<&str> = (0..words as usize)
            .map(|i| WORDS[i % WORDS.len()])
            .collect();
        let stream = self.rng.chance(self.traffic.stream_share);
        let body = json!({
            "model": route,
            "messages": [{"role": "user", "content": prompt.join(" ")}],
            "stream": stream,
        });
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
        };
        if let Ok(response) = self.client.post(&self.url).json(&body).send().await {
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
            let success = response.status().is_success();
            sample.ok = match response.text().await {
                Ok(text) => success && (!stream || whole_stream(&text)),
                Err(_) => false,
            };
        }
        sample.latency = clock.elapsed();
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
