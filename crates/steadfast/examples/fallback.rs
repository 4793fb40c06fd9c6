//! Every fallback strategy over three simulated models, each behind its own
//! circuit breaker (`fallback::Guarded`): one is down, one is slow, one is
//! fine. Prints who answered and every attempt; then the first strategy in
//! retry passes within a deadline.
//!
//! Run with `cargo run -p steadfast --example fallback`.

use std::sync::Arc;
use std::time::Duration;

use steadfast::breaker::Breaker;
use steadfast::fallback::{
    Attempt, Guarded, Hedged, Parallel, Quorum, Scope, Sequential, Strategy, TargetWeights,
    Weighted,
};
use steadfast::hedge::HedgeDelay;
use steadfast::retry::{Backoff, RetryPolicy};
use steadfast::{Failure, FailureKind};
use tokio::time::Instant;

/// A simulated model: how long it takes and whether it is down.
#[derive(Debug, Clone, Copy)]
struct Model {
    name: &'static str,
    latency: Duration,
    down: bool,
}

impl Model {
    async fn complete(self, prompt: &str) -> Result<String, Failure> {
        tokio::time::sleep(self.latency).await;
        if self.down {
            return Err(Failure::new(FailureKind::Overloaded));
        }
        Ok(format!("{} answers {prompt:?}", self.name))
    }
}

fn print(strategy: &str, value: Result<String, String>, attempts: &[Attempt]) {
    println!(
        "{strategy}: {}",
        value.unwrap_or_else(|why| format!("no answer ({why})"))
    );
    for attempt in attempts {
        println!(
            "    {:<8} {:?} after {:?}",
            attempt.target, attempt.outcome, attempt.elapsed
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let model = |name, latency_ms, down| {
        let latency = Duration::from_millis(latency_ms);
        Guarded::new(
            Model {
                name,
                latency,
                down,
            },
            Breaker::builder(name).build(),
        )
    };
    let models = [
        model("big", 50, true),
        model("medium", 400, false),
        model("small", 30, false),
    ];
    let ask = |model: &Guarded<Model>, _| {
        model.call(|model| async move { model.complete("hello").await.map_err(FailedCall) })
    };

    let strategies: [(&str, Strategy); 4] = [
        ("sequential", Sequential::new().into()),
        ("parallel", Parallel::new().into()),
        (
            "hedged",
            Hedged::new(HedgeDelay::Fixed(Duration::from_millis(100))).into(),
        ),
        (
            "weighted",
            Weighted::new(Arc::new(TargetWeights::new([1.0, 1.0, 1.0]))).into(),
        ),
    ];
    for (name, strategy) in strategies {
        match strategy.run(&models, ask).await {
            Ok(success) => print(name, Ok(success.value), &success.attempts),
            Err(failed) => print(name, Err(format!("{:?}", failed.reason)), &failed.attempts),
        }
    }
    match Quorum::new(2).run(&models, ask).await {
        Ok(agreed) => {
            let values = agreed.values.into_iter().map(|(_, value)| value);
            print(
                "quorum of 2",
                Ok(values.collect::<Vec<_>>().join(" / ")),
                &agreed.attempts,
            );
        }
        Err(missed) => print(
            "quorum of 2",
            Err(format!("{:?}", missed.reason)),
            &missed.attempts,
        ),
    }
    // Sequential in retry passes, within 300 ms: "big" fails, "medium" is
    // still thinking when the time is up and is recorded as a timeout.
    let retry = RetryPolicy::builder()
        .max_attempts(2)
        .backoff(Backoff::constant(Duration::from_millis(10)))
        .build();
    let within = Scope::all().until(Instant::now() + Duration::from_millis(300));
    match retry.passes(&Sequential::new(), within, &models, ask).await {
        Ok(success) => print("passes", Ok(success.value), &success.attempts),
        Err(failed) => print(
            "passes",
            Err(format!("{:?}", failed.reason)),
            &failed.attempts,
        ),
    }
}

/// A model's failure as an error the breaker can box.
#[derive(Debug)]
struct FailedCall(Failure);

impl std::fmt::Display for FailedCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the model failed: {}", self.0)
    }
}

impl std::error::Error for FailedCall {}

impl steadfast::classify::AsFailure for FailedCall {
    fn as_failure(&self) -> Failure {
        self.0
    }
}
