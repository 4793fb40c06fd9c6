//! The cap on open client connections, shared by every serving thread: a
//! connection past it is answered 503 at once and closed, rather than
//! served slowly or left to wait in the kernel's queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The open connections and their cap.
#[derive(Debug)]
pub(crate) struct ConnectionCap {
    open: AtomicUsize,
    max: usize,
}

/// One open connection, counted until dropped.
#[derive(Debug)]
pub(crate) struct Open(Arc<ConnectionCap>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionCap {
    /// A cap of `max` open connections.
    pub(crate) fn new(max: usize) -> Arc<ConnectionCap> {
        Arc::new(ConnectionCap {
            open: AtomicUsize::new(0),
            max,
        })
    }

    /// Counts a new connection, unless the cap is reached.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Open> {
        let admitted = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            })
            .is_ok();
        admitted.then(|| Open(Arc::clone(self)))
    }
}

/// How long a refused connection is given to take its answer.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);

/// The answer of a connection past the cap.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 161\r\n\
\r\n\
{\"error\":{\"message\":\"The gateway has as many open connections as it takes (server.max_connections).\",\"type\":\"service_unavailable\",\"code\":\"too_many_connections\"}}";

/// Answers a connection past the cap with a 503 and closes it, reading
/// what the client sent meanwhile (within the same second): closing with
/// its request unread would reset the connection before it reads the 503.
pub(crate) async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(REFUSAL_WRITE, async {
        stream.write_all(REFUSAL).await?;
        stream.shutdown().await?;
        let mut sink = [0; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_one_whole_http_answer() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "too_many_connections");
    }

    #[test]
    fn connections_past_the_cap_are_not_admitted_until_one_closes() {
        let cap = ConnectionCap::new(2);
        let first = cap.admit().unwrap();
        let _second = cap.admit().unwrap();
        assert!(cap.admit().is_none());
        drop(first);
        assert!(cap.admit().is_some());
    }
}
