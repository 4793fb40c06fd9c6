//! A caller's own error type judged by its own [`AsFailure`] answer by every
//! policy — `call` on a breaker, a retry policy and a pipeline, and the tower
//! layers — as the fallback strategies already did: an invalid request is
//! neither counted against the target nor retried, and a rate limit's
//! retry-after is waited out.

use std::time::Duration;

use steadfast::breaker::{Breaker, State};
use steadfast::classify::AsFailure;
use steadfast::pipeline::Pipeline;
use steadfast::retry::{Backoff, RetryPolicy};
use steadfast::{Failure, FailureKind};
use tokio::time::Instant;
use tower::{Layer, ServiceExt, service_fn};

/// A model API's errors, as a library user would write them.
#[derive(Debug, Clone, Copy)]
enum ApiError {
    BadRequest,
    RateLimited(Duration),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ApiError {}

impl AsFailure for ApiError {
    fn as_failure(&self) -> Failure {
        match self {
            ApiError::BadRequest => Failure::new(FailureKind::InvalidRequest),
            ApiError::RateLimited(after) => Failure::rate_limited(Some(*after)),
        }
    }
}

fn breaker() -> Breaker {
    Breaker::builder("gpt")
        .count_window(4)
        .min_calls(2)
        .failure_rate(0.5)
        .build()
}

#[tokio::test(start_paused = true)]
async fn a_breaker_does_not_count_invalid_requests_against_the_target() {
    let breaker = breaker();
    for _ in 0..4 {
        let error = breaker
            .call(|| async { Err::<(), _>(ApiError::BadRequest) })
            .await
            .unwrap_err();
        assert_eq!(error.failure().kind, FailureKind::InvalidRequest);
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.stats().failures, 0);
}

#[tokio::test(start_paused = true)]
async fn a_retry_neither_retries_an_invalid_request_nor_hurries_a_rate_limit() {
    let retry = RetryPolicy::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(Duration::from_millis(10)))
        .build();
    let mut attempts = 0;
    let _ = retry
        .call(|| {
            attempts += 1;
            async { Err::<(), _>(ApiError::BadRequest) }
        })
        .await;
    assert_eq!(attempts, 1, "an invalid request is not retried");

    let origin = Instant::now();
    let mut attempts = 0;
    let answer = retry
        .call(|| {
            attempts += 1;
            let first = attempts == 1;
            async move {
                if first {
                    Err(ApiError::RateLimited(Duration::from_secs(2)))
                } else {
                    Ok(origin.elapsed())
                }
            }
        })
        .await;
    assert_eq!(
        answer.unwrap(),
        Duration::from_secs(2),
        "retry-after waited out"
    );
}

#[tokio::test(start_paused = true)]
async fn a_pipeline_judges_each_attempt_by_the_error() {
    let breaker = breaker();
    let pipeline = Pipeline::builder()
        .retry(RetryPolicy::builder().max_attempts(3).build())
        .breaker(breaker.clone())
        .build();
    let mut attempts = 0;
    let error = pipeline
        .call(|| {
            attempts += 1;
            async { Err::<(), _>(ApiError::BadRequest) }
        })
        .await
        .unwrap_err();
    assert_eq!(error.failure().kind, FailureKind::InvalidRequest);
    assert_eq!(attempts, 1);
    assert_eq!(breaker.stats().failures, 0);
}

#[tokio::test(start_paused = true)]
async fn a_tower_breaker_judges_the_services_error() {
    let breaker = breaker();
    let service = breaker.layer().layer(service_fn(|_: ()| async {
        Err::<(), _>(ApiError::BadRequest)
    }));
    for _ in 0..4 {
        let error = service.clone().oneshot(()).await.unwrap_err();
        assert_eq!(error.failure().kind, FailureKind::InvalidRequest);
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.stats().failures, 0);
}
