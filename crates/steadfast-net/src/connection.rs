//! One client connection, watched: the requests in flight on it (a
//! response counts until its body has been sent or dropped), a graceful
//! close when it has had none for the idle limit or the server shuts down,
//! a socket whose writes may not stall past the write limit, and responses
//! the client leaves unread: a body ready to go that nobody has pulled for
//! the write limit (an HTTP/2 client that never opens its flow-control
//! window, while it answers pings) ends the connection, its streams reset.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_io_timeout::TimeoutStream;
use tower_service::Service;

/// What is known of a connection's traffic: requests in flight, and when
/// the last one ended. Kept in atomics, so a request costs two counter
/// updates and a clock read, and no timer: the watchdog wakes at most a few
/// times per idle limit.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `opened` when the last request ended.
    quiet_since_ms: AtomicU64,
    /// The response bodies still out, to tell one the client leaves unread.
    bodies: Mutex<Vec<Weak<BodyWatch>>>,
}

/// How often, per idle limit, a watchdog looks again while a request is in
/// flight (so an idle connection is closed at most a quarter late).
const LOOKS_PER_LIMIT: u32 = 4;

impl Activity {
    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            quiet_since_ms: AtomicU64::new(0),
            bodies: Mutex::new(Vec::new()),
        }
    }

    /// A request began; it ends when the guard is dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    /// When the last request ended (or the connection opened).
    fn quiet_since(&self) -> Instant {
        self.opened + Duration::from_millis(self.quiet_since_ms.load(Ordering::Acquire))
    }

    /// Milliseconds since the connection opened.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// Watches a response body from now on (it is ready to go).
    fn watch(self: &Arc<Self>) -> Arc<BodyWatch> {
        let watch = Arc::new(BodyWatch {
            activity: Arc::downgrade(self),
            ready_since_ms: AtomicU64::new(self.now_ms()),
            puller: Mutex::new(None),
        });
        if let Ok(mut bodies) = self.bodies.lock() {
            bodies.retain(|body| body.strong_count() > 0);
            bodies.push(Arc::downgrade(&watch));
        }
        watch
    }

    /// Resolves once a response body has been ready to go, and not pulled,
    /// for `limit`: its client does not take it.
    async fn unread_for(&self, limit: Duration) {
        let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        loop {
            tokio::time::sleep(limit / LOOKS_PER_LIMIT).await;
            let now = self.now_ms();
            let unread = self.bodies.lock().is_ok_and(|bodies| {
                bodies.iter().filter_map(Weak::upgrade).any(|body| {
                    let since = body.ready_since_ms.load(Ordering::Acquire);
                    since != WAITING_ON_SOURCE && now.saturating_sub(since) > limit_ms
                })
            });
            if unread {
                return;
            }
        }
    }

    /// Resolves once the connection has had no request in flight for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let wake = if self.in_flight.load(Ordering::Acquire) > 0 {
                Instant::now() + limit / LOOKS_PER_LIMIT
            } else {
                self.quiet_since() + limit
            };
            tokio::time::sleep_until(wake).await;
            if self.in_flight.load(Ordering::Acquire) == 0
                && self.quiet_since() + limit <= Instant::now()
            {
                return;
            }
        }
    }
}

/// A request in flight on a connection.
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        let ended = activity.opened.elapsed().as_millis() as u64;
        activity.quiet_since_ms.fetch_max(ended, Ordering::AcqRel);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The router, counting each request in flight until its response body is done.
#[derive(Clone)]
struct Tracked {
    router: Router,
    activity: Arc<Activity>,
}

impl Service<Request<Incoming>> for Tracked {
    type Response = Response<Guarded>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Guarded>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let guard = self.activity.begin();
        let answer = self.router.call(request.map(Body::new));
        let activity = Arc::clone(&self.activity);
        Box::pin(async move {
            let response = answer.await?;
            let watch = activity.watch();
            Ok(response.map(|body| Guarded {
                body,
                waker: Waker::from(Arc::clone(&watch)),
                watch,
                _guard: guard,
            }))
        })
    }
}

/// `BodyWatch::ready_since_ms` while the body waits on its own source (the
/// gateway, not the client, is the one to wait for then).
const WAITING_ON_SOURCE: u64 = u64::MAX;

/// Where one response body stands between its source and the client: since
/// when it has been ready to go (made, handed a frame, or woken by its
/// source) without being pulled again by the connection.
#[derive(Debug)]
struct BodyWatch {
    activity: Weak<Activity>,
    /// Milliseconds after the connection opened, or [`WAITING_ON_SOURCE`].
    ready_since_ms: AtomicU64,
    /// The connection's waker, woken when the source is.
    puller: Mutex<Option<Waker>>,
}

impl BodyWatch {
    /// Ready from now, unless it was ready (and unpulled) already.
    fn ready(&self) {
        if let Some(activity) = self.activity.upgrade() {
            let now = activity.now_ms();
            let _ = self.ready_since_ms.compare_exchange(
                WAITING_ON_SOURCE,
                now,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }
}

impl Wake for BodyWatch {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready();
        if let Ok(puller) = self.puller.lock() {
            if let Some(waker) = puller.as_ref() {
                waker.wake_by_ref();
            }
        }
    }
}

/// A response body that keeps its request counted in flight until it is
/// sent whole or dropped, and says when it waits on the client.
pub(crate) struct Guarded {
    body: Body,
    watch: Arc<BodyWatch>,
    /// Wakes the connection through `watch`, noting that the body is ready.
    waker: Waker,
    _guard: InFlight,
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Ok(mut puller) = self.watch.puller.lock() {
            if !puller
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
            {
                *puller = Some(cx.waker().clone());
            }
        }
        let waker = self.waker.clone();
        let polled = Pin::new(&mut self.body).poll_frame(&mut Context::from_waker(&waker));
        match &polled {
            // Handed over: the connection owes the client this frame.
            Poll::Ready(Some(_)) => {
                if let Some(activity) = self.watch.activity.upgrade() {
                    self.watch
                        .ready_since_ms
                        .store(activity.now_ms(), Ordering::Release);
                }
            }
            Poll::Ready(None) | Poll::Pending => self
                .watch
                .ready_since_ms
                .store(WAITING_ON_SOURCE, Ordering::Release),
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The limits a connection is served within.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Longest time with no request in flight before a graceful close.
    pub(crate) idle: Duration,
    /// Longest a write to the client may stall.
    pub(crate) write: Duration,
}

/// Serves `stream` with `router` until the connection ends: closed
/// gracefully (in-flight requests finish) when it has been idle for
/// `limits.idle` or when `shutdown` turns true.
pub(crate) async fn drive(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    limits: Limits,
) {
    let _ = stream.set_nodelay(true);
    let mut stream = TimeoutStream::new(stream);
    stream.set_write_timeout(Some(limits.write));
    let activity = Arc::new(Activity::new());
    let service = TowerToHyperService::new(Tracked {
        router,
        activity: Arc::clone(&activity),
    });
    let connection =
        builder.serve_connection_with_upgrades(TokioIo::new(Box::pin(stream)), service);
    tokio::pin!(connection);
    let mut closing = false;
    // A graceful close waits on the client (an HTTP/2 client must answer a
    // ping); an idle one that does not is dropped after the idle limit again.
    let mut give_up: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = crate::wait_for(&mut shutdown), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = activity.idle_for(limits.idle), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
                give_up = Some(Instant::now() + limits.idle);
            }
            _ = activity.unread_for(limits.write) => {
                tracing::debug!("a response left unread for the write limit: connection dropped");
                return;
            }
            _ = sleep_until_some(give_up) => {
                if activity.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                give_up = None;
            }
        }
    }
}

/// Sleeps until `at`, or forever if there is none.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_means_no_request_in_flight_for_the_whole_limit() {
        let activity = Arc::new(Activity::new());
        let limit = Duration::from_secs(30);
        let request = activity.begin();
        let idle = tokio::time::timeout(Duration::from_secs(60), activity.idle_for(limit));
        assert!(idle.await.is_err(), "idle while a request was in flight");
        drop(request);
        let started = Instant::now();
        activity.idle_for(limit).await;
        assert!(started.elapsed() >= limit, "{:?}", started.elapsed());
        assert!(
            started.elapsed() <= limit + limit / LOOKS_PER_LIMIT,
            "{:?}",
            started.elapsed()
        );
    }
}
