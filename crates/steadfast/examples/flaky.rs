//! A flaky model endpoint behind a pipeline: retries, a per-attempt timeout,
//! a circuit breaker that opens during an outage and closes after it.
//!
//! Run with `cargo run -p steadfast --example flaky`.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use steadfast::breaker::Breaker;
use steadfast::events::{Event, Events};
use steadfast::pipeline::Pipeline;
use steadfast::retry::{Backoff, RetryPolicy};
use steadfast::rng::Rng;
use tokio::time::{Instant, sleep};

/// A model endpoint that is slow, hangs or fails now and then — the same way
/// every run, thanks to the seed — and fails every call while `down`.
struct FlakyModel {
    rng: Rng,
    down: AtomicBool,
}

impl FlakyModel {
    async fn complete(&self, prompt: &str) -> Result<String, std::io::Error> {
        sleep(Duration::from_millis(10 + self.rng.below(40))).await;
        if self.down.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("503 service unavailable"));
        }
        let roll = self.rng.next_f64();
        if roll < 0.1 {
            sleep(Duration::from_secs(10)).await; // a hung connection
        } else if roll < 0.3 {
            return Err(std::io::Error::other("502 bad gateway"));
        }
        Ok(format!("echo of {prompt:?}"))
    }
}

/// Prints what the policies report.
fn watch(events: &Events) {
    let mut events = events.subscribe();
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event {
                Event::BreakerStateChanged { name, from, to } => {
                    println!("    breaker {name}: {from} -> {to}");
                }
                Event::RetryScheduled {
                    attempt,
                    delay,
                    failure,
                    ..
                } => println!("    attempt {attempt} failed ({failure}), retry in {delay:?}"),
                Event::TimedOut { after, .. } => println!("    timed out after {after:?}"),
                _ => {}
            }
        }
    });
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let events = Events::new();
    watch(&events);
    let pipeline = Pipeline::builder()
        .name("gpt")
        .events(events.clone())
        .deadline(Duration::from_secs(2))
        .retry(
            RetryPolicy::builder()
                .name("gpt")
                .max_attempts(3)
                .backoff(Backoff::exponential(
                    Duration::from_millis(20),
                    Duration::from_millis(200),
                ))
                // Do not wait out an open breaker: fail fast, let the caller move on.
                .max_retry_after(Duration::from_millis(200))
                .events(events.clone())
                .seed(1)
                .build(),
        )
        .breaker(
            Breaker::builder("gpt")
                .consecutive_failures(4)
                .open_for(Duration::from_millis(500))
                .events(events.clone())
                .build(),
        )
        .timeout(Duration::from_millis(200))
        .build();
    let model = FlakyModel {
        rng: Rng::with_seed(42),
        down: AtomicBool::new(false),
    };

    let start = Instant::now();
    let (mut ok, mut failed) = (0, 0);
    for request in 1..=24 {
        // One request every 100 ms, and an outage from request 9 to 14.
        sleep(Duration::from_millis(100)).await;
        model
            .down
            .store((9..=14).contains(&request), Ordering::Relaxed);
        let attempts = AtomicU32::new(0);
        let prompt = format!("question {request}");
        let answer = pipeline
            .call(|| {
                attempts.fetch_add(1, Ordering::Relaxed);
                model.complete(&prompt)
            })
            .await;
        let attempts = attempts.load(Ordering::Relaxed);
        match answer {
            Ok(text) => {
                ok += 1;
                println!("request {request:>2}: ok after {attempts} attempt(s): {text}");
            }
            Err(error) => {
                failed += 1;
                println!("request {request:>2}: failed after {attempts} attempt(s): {error}");
            }
        }
        tokio::task::yield_now().await; // let the watcher print
    }
    let retry = pipeline.retry().map(|retry| retry.stats());
    let breaker = pipeline.breaker().map(|breaker| breaker.stats());
    println!("\n{ok} succeeded, {failed} failed in {:?}", start.elapsed());
    if let (Some(retry), Some(breaker)) = (retry, breaker) {
        println!(
            "retry: {} attempts, {} retries; breaker: {} trips, {} rejected, now {}",
            retry.attempts, retry.retries, breaker.trips, breaker.rejected, breaker.state
        );
    }
}
