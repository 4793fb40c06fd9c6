//! Watching the policies: one event bus shared by a breaker and a retry
//! policy, printed as the events come, and the same happenings as
//! Prometheus metrics through the `metrics` facade (any recorder works; this
//! one renders Prometheus text).
//!
//! Run with `cargo run -p steadfast --example events_metrics`.

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use steadfast::breaker::Breaker;
use steadfast::events::{Event, Events};
use steadfast::retry::{Backoff, RetryPolicy};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        eprintln!("another metrics recorder is installed");
        return;
    }

    let events = Events::new();
    let mut watch = events.subscribe();
    let breaker = Breaker::builder("gpt")
        .consecutive_failures(3)
        .open_for(Duration::from_secs(30))
        .events(events.clone())
        .build();
    let retry = RetryPolicy::builder()
        .name("gpt")
        .max_attempts(4)
        .backoff(Backoff::constant(Duration::from_millis(10)))
        .events(events.clone())
        .build();

    // A model that always fails: three failures trip the breaker, and the
    // fourth attempt is refused by it.
    let answer = retry
        .call(|| breaker.call(|| async { Err::<(), _>("502 bad gateway") }))
        .await;
    println!("answer: {answer:?}\n");

    println!("events:");
    while let Ok(event) = watch.try_recv() {
        match event {
            Event::BreakerStateChanged { name, from, to } => {
                println!("  breaker {name}: {from} -> {to}")
            }
            Event::RetryScheduled {
                attempt,
                delay,
                failure,
                ..
            } => {
                println!("  attempt {attempt} failed ({failure}), retry in {delay:?}");
            }
            other => println!("  {other:?}"),
        }
    }

    println!("\nmetrics:");
    for line in metrics
        .render()
        .lines()
        .filter(|line| line.starts_with("steadfast_"))
    {
        println!("  {line}");
    }
}
