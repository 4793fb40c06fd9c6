//! The accept loop shared by the gateway and the simulated providers: HTTP/1.1
//! and HTTP/2 on one port, and the limits every connection is served within:
//! a cap on open connections (past it, 503 and close), a time for a request
//! head to arrive, a connection closed when it has had no request in flight
//! for as long (HTTP/1 and HTTP/2 alike, with HTTP/2 keep-alive pings), a
//! socket whose writes may not stall, bounded header sizes, and graceful
//! shutdown that lets in-flight requests finish.

mod connection;
mod limit;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use connection::Limits;

/// Binds a listener with `SO_REUSEADDR`, so a restarted server (or a simulated
/// provider that stopped refusing connections) can take its port back at once.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    listen(addr, false)
}

/// A listener on `addr`, with `SO_REUSEPORT` if `shared` (so each serving
/// thread can hold one on the same port).
fn listen(addr: SocketAddr, shared: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if shared {
        socket.set_reuseport(true)?;
    }
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves `router` on `addr` from `threads` threads, each with its own
/// single-threaded runtime and its own listener on the same port
/// (`SO_REUSEPORT`: the kernel spreads connections across them), so a
/// request is handled start to finish on one thread, like an nginx worker —
/// no hand-over between threads, no waking of an idle one. Returns the bound
/// address and a task per thread that ends once the thread has drained
/// after `shutdown`.
pub fn serve_threads(
    addr: SocketAddr,
    threads: usize,
    router: Router,
    shutdown: watch::Receiver<bool>,
    options: ServeOptions,
) -> std::io::Result<(SocketAddr, Vec<tokio::task::JoinHandle<()>>)> {
    if addr.port() != 0 {
        // A plain bind first: SO_REUSEPORT would let a second gateway share a
        // port that is already taken instead of failing. (A port the kernel
        // picks is free; probing it would only open a window in which another
        // process's port-0 bind could be given the same port.)
        drop(bind(addr)?);
    }
    let first = listen(addr, true)?;
    let addr = first.local_addr()?;
    let listeners = std::iter::once(Ok(first))
        .chain((1..threads.max(1)).map(|_| listen(addr, true)))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut tasks = Vec::new();
    let cap = connection_cap(&options);
    for (index, listener) in listeners.into_iter().enumerate() {
        let listener = listener.into_std()?;
        let (router, shutdown, cap) = (router.clone(), shutdown.clone(), Arc::clone(&cap));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name(format!("steadfast-serve-{index}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => accept(listener, router, shutdown, options, cap).await,
                        Err(error) => tracing::error!(%error, "a serving thread cannot listen"),
                    }
                });
            })?;
        tasks.push(tokio::task::spawn_blocking(move || {
            let _ = thread.join();
        }));
    }
    Ok((addr, tasks))
}

/// How the accept loop treats clients.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Longest time a client may take to send its request head; also how
    /// long a connection may stay open with no request in flight.
    pub header_timeout: Duration,
    /// Longest time in-flight requests may run after shutdown begins.
    pub shutdown_grace: Duration,
    /// Longest time a write to a client may stall (a client that reads
    /// nothing) before the connection is dropped.
    pub write_timeout: Duration,
    /// Most connections open at once, over every serving thread.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            header_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_connections: 10_000,
        }
    }
}

/// How often an HTTP/2 connection is pinged, and how long an answer may take
/// before the connection is dropped as dead.
const HTTP2_KEEP_ALIVE: Duration = Duration::from_secs(20);
/// Largest HTTP/2 header list.
const MAX_HEADER_LIST: u32 = 64 * 1024;
/// An HTTP/1 connection's read buffer, which bounds a request head.
const HTTP1_BUFFER: usize = 128 * 1024;
/// Most headers in an HTTP/1 request.
const MAX_HEADERS: usize = 128;
/// Most streams open at once on one HTTP/2 connection.
const MAX_STREAMS: u32 = 256;

/// The HTTP/1.1 + HTTP/2 connection builder with the slow-client limit,
/// HTTP/2 keep-alive pings and bounded request heads.
pub fn http_builder(options: &ServeOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(HTTP1_BUFFER)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(HTTP2_KEEP_ALIVE)
        .keep_alive_timeout(HTTP2_KEEP_ALIVE)
        .max_header_list_size(MAX_HEADER_LIST)
        .max_concurrent_streams(MAX_STREAMS);
    builder
}

/// Serves one accepted connection with `router` until it closes.
pub fn serve_connection(
    builder: &auto::Builder<TokioExecutor>,
    stream: TcpStream,
    router: Router,
) -> impl Future<Output = ()> + Send + 'static {
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(router);
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .into_owned();
    async move {
        let _ = connection.await;
    }
}

/// Serves `router` on `listener` until `shutdown` turns true, then stops
/// accepting and waits up to the grace period for open connections to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: watch::Receiver<bool>,
    options: ServeOptions,
) {
    let cap = connection_cap(&options);
    accept(listener, router, shutdown, options, cap).await;
}

/// A permit per open connection, `options.max_connections` of them.
fn connection_cap(options: &ServeOptions) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(
        options.max_connections.min(Semaphore::MAX_PERMITS),
    ))
}

/// The accept loop of one thread, within the connection cap shared by all
/// (a permit per open connection).
async fn accept(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    options: ServeOptions,
    cap: Arc<Semaphore>,
) {
    let builder = Arc::new(http_builder(&options));
    let limits = Limits {
        idle: options.header_timeout,
        write: options.write_timeout,
    };
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                while connections.try_join_next().is_some() {}
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors and similar: back off briefly, keep serving.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let Ok(open) = Arc::clone(&cap).try_acquire_owned() else {
                    connections.spawn(limit::refuse(stream));
                    continue;
                };
                let connection = connection::drive(
                    Arc::clone(&builder),
                    stream,
                    router.clone(),
                    shutdown.clone(),
                    limits,
                );
                connections.spawn(async move {
                    connection.await;
                    drop(open);
                });
            }
            _ = wait_for(&mut shutdown) => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(options.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// Resolves once `flag` is true (or its sender is gone).
pub async fn wait_for(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|value| *value).await;
}
