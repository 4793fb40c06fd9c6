//! The answer of a connection past the cap on open client connections (a
//! semaphore shared by every serving thread): a 503 at once and a close,
//! rather than slow service or a wait in the kernel's queue.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
}
