//! Steadfast's policies as tower layers around a `service_fn`, stacked in the
//! same order as a [`Pipeline`](steadfast::pipeline::Pipeline) would
//! (`pipeline.layer()` is the one-layer equivalent). Every policy handle
//! makes its layer the same way: `handle.layer()`, or `<Noun>Layer::new(handle)`.
//!
//! Run with `cargo run -p steadfast --example tower_stack`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use steadfast::breaker::Breaker;
use steadfast::bulkhead::Bulkhead;
use steadfast::retry::{Backoff, RetryPolicy};
use steadfast::timeout::Timeout;
use tower::{ServiceBuilder, ServiceExt, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The "model": every third call fails, every fifth hangs.
    let calls = Arc::new(AtomicU32::new(0));
    let model = {
        let calls = calls.clone();
        service_fn(move |prompt: String| {
            let call = calls.fetch_add(1, Ordering::Relaxed) + 1;
            async move {
                if call % 5 == 0 {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                if call % 3 == 0 {
                    return Err(std::io::Error::other("502 bad gateway"));
                }
                Ok(format!("answer to {prompt:?} (call {call})"))
            }
        })
    };

    // Opens when half of the last 10 calls failed.
    let breaker = Breaker::builder("gpt")
        .count_window(10)
        .min_calls(10)
        .failure_rate(0.5)
        .build();
    let retry = RetryPolicy::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(Duration::from_millis(10)))
        .build();
    // Outermost first: retry > breaker > bulkhead > timeout > the model.
    let service = ServiceBuilder::new()
        .layer(retry.layer())
        .layer(breaker.layer())
        .layer(Bulkhead::builder(4).name("gpt").build().layer())
        .layer(Timeout::new(Duration::from_millis(100)).layer())
        .service(model);

    for request in 1..=6 {
        let answer = service.clone().oneshot(format!("question {request}")).await;
        match answer {
            Ok(text) => println!("request {request}: {text}"),
            Err(error) => println!("request {request}: failed: {error}"),
        }
    }
    let (retry, breaker) = (retry.stats(), breaker.stats());
    println!(
        "\n{} calls to the model; {} retries; breaker {} with {} failures counted",
        calls.load(Ordering::Relaxed),
        retry.retries,
        breaker.state,
        breaker.failures
    );
}
