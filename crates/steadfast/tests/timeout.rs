//! Public behaviour of the timeout policies.

use std::time::Duration;

use futures_util::StreamExt;
use steadfast::Error;
use steadfast::events::{Event, Events};
use steadfast::timeout::{Deadline, FirstItemTimeout, Timeout, TimeoutLayer, TimeoutScope};
use tokio::time::{Instant, sleep};
use tower::{Layer, Service, ServiceExt};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn slow_call_times_out_at_the_limit_and_emits() {
    let events = Events::new();
    let mut receiver = events.subscribe();
    let timeout = Timeout::builder(SECOND).name("gpt").events(events).build();
    let start = Instant::now();
    let result = timeout
        .call(|| async {
            sleep(SECOND * 5).await;
            Ok::<_, std::io::Error>(())
        })
        .await;
    assert_eq!(start.elapsed(), SECOND);
    match result {
        Err(Error::Timeout(elapsed)) => {
            assert_eq!(elapsed.scope, TimeoutScope::Attempt);
            assert_eq!(elapsed.after, SECOND);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(
        receiver.try_recv().ok(),
        Some(Event::TimedOut {
            name: "gpt".into(),
            after: SECOND
        })
    );
}

#[tokio::test(start_paused = true)]
async fn fast_call_passes_and_its_error_is_wrapped() {
    let timeout = Timeout::new(SECOND);
    let ok = timeout
        .call(|| async {
            sleep(Duration::from_millis(999)).await;
            Ok::<_, std::io::Error>(7)
        })
        .await;
    assert_eq!(ok.ok(), Some(7));
    let err = timeout
        .call(|| async { Err::<(), _>(std::io::Error::other("boom")) })
        .await;
    let err = err.expect_err("the op failed");
    assert!(matches!(err, Error::Call { .. }));
    assert!(err.downcast_call_error::<std::io::Error>().is_some());
}

#[tokio::test(start_paused = true)]
async fn deadline_spans_attempts() {
    let deadline = Deadline::after(SECOND * 10);
    sleep(SECOND * 4).await;
    assert_eq!(deadline.remaining(), SECOND * 6);
    assert_eq!(deadline.cap(SECOND * 3), SECOND * 3);
    assert_eq!(deadline.cap(SECOND * 8), SECOND * 6);
    let start = Instant::now();
    let result = deadline.run(sleep(SECOND * 60)).await;
    assert_eq!(start.elapsed(), SECOND * 6);
    let elapsed = result.expect_err("the deadline passed");
    assert_eq!(elapsed.scope, TimeoutScope::Overall);
    assert_eq!(elapsed.after, SECOND * 10);
    assert!(deadline.is_elapsed());
    assert_eq!(deadline.remaining(), Duration::ZERO);
}

fn delayed(items: Vec<(Duration, u32)>) -> impl futures_core::Stream<Item = Result<u32, Error>> {
    futures_util::stream::iter(items).then(|(delay, item)| async move {
        sleep(delay).await;
        Ok(item)
    })
}

#[tokio::test(start_paused = true)]
async fn first_item_late_fails_the_stream_once_then_ends() {
    let stream = delayed(vec![(SECOND * 3, 1), (SECOND, 2)]);
    let mut limited = std::pin::pin!(FirstItemTimeout::new(stream, SECOND * 2));
    let start = Instant::now();
    match limited.next().await {
        Some(Err(Error::Timeout(elapsed))) => {
            assert_eq!(elapsed.scope, TimeoutScope::FirstItem);
            assert_eq!(elapsed.after, SECOND * 2);
        }
        other => panic!("expected a first-item timeout, got {other:?}"),
    }
    assert_eq!(start.elapsed(), SECOND * 2);
    assert!(limited.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn only_the_first_item_is_limited() {
    let stream = delayed(vec![(SECOND, 1), (SECOND * 30, 2), (SECOND * 30, 3)]);
    let limited = FirstItemTimeout::new(stream, SECOND * 2);
    let items: Vec<u32> = limited
        .map(|item| item.expect("no timeout"))
        .collect()
        .await;
    assert_eq!(items, [1, 2, 3]);
}

/// An error type of the caller's own that takes steadfast's errors.
#[derive(Debug)]
enum AppError {
    Steadfast(Error),
}

impl From<Error> for AppError {
    fn from(error: Error) -> AppError {
        AppError::Steadfast(error)
    }
}

#[tokio::test(start_paused = true)]
async fn first_item_timeout_maps_into_the_callers_error() {
    let never = futures_util::stream::pending::<Result<u32, AppError>>();
    let mut limited = std::pin::pin!(FirstItemTimeout::new(never, SECOND));
    assert!(matches!(
        limited.next().await,
        Some(Err(AppError::Steadfast(Error::Timeout(_))))
    ));
}

#[tokio::test(start_paused = true)]
async fn layer_times_out_the_inner_service() {
    let (service, mut handle) = tower_test::mock::pair::<&str, &str>();
    let mut service = TimeoutLayer::new(Timeout::new(SECOND)).layer(service);
    handle.allow(2);

    let answered = tokio::spawn({
        let mut service = service.clone();
        async move { service.ready().await?.call("fast").await }
    });
    let (request, respond) = handle.next_request().await.expect("a request");
    assert_eq!(request, "fast");
    respond.send_response("ok");
    assert_eq!(answered.await.expect("joined").ok(), Some("ok"));

    let start = Instant::now();
    let slow = service.ready().await.expect("ready").call("slow");
    let (_request, _respond) = handle.next_request().await.expect("a request");
    let result = slow.await;
    assert_eq!(start.elapsed(), SECOND);
    assert!(matches!(result, Err(Error::Timeout(_))));
}

#[tokio::test(start_paused = true)]
async fn layer_passes_inner_errors_through_as_call_failures() {
    let (service, mut handle) = tower_test::mock::pair::<(), ()>();
    let mut service = Timeout::new(SECOND).layer().layer(service);
    handle.allow(1);
    let call = service.ready().await.expect("ready").call(());
    let (_, respond) = handle.next_request().await.expect("a request");
    respond.send_error(std::io::Error::other("upstream"));
    let error = call.await.expect_err("inner failed");
    assert!(error.downcast_call_error::<std::io::Error>().is_some());
}
