//! What every bench of this crate shares: the runtime, the service that
//! answers at once, a tower client's call, and criterion's settings.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::time::Duration;

use criterion::Criterion;
use futures_util::future::poll_fn;
use tokio::runtime::Runtime;
use tower::{Service, service_fn};

/// One second.
pub(crate) const SEC: Duration = Duration::from_secs(1);

/// A current-thread runtime with timers.
pub(crate) fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// A service that answers `Ok(())` at once.
pub(crate) fn ok_service()
-> impl Service<(), Response = (), Error = Infallible, Future = Ready<Result<(), Infallible>>> + Clone
{
    service_fn(|()| ready(Ok(())))
}

/// Drives `service` to readiness and calls it once, as a tower client does.
pub(crate) async fn call_once<S: Service<()>>(
    service: &RefCell<S>,
) -> Result<S::Response, S::Error> {
    poll_fn(|cx| service.borrow_mut().poll_ready(cx)).await?;
    let future = service.borrow_mut().call(());
    future.await
}

/// Warm-up 1 s, measurement 2 s, 50 samples.
pub(crate) fn settings() -> Criterion {
    Criterion::default()
        .warm_up_time(SEC)
        .measurement_time(2 * SEC)
        .sample_size(50)
}
