//! Real receivers of alert notices on loopback: an HTTP server that records
//! every POST (webhooks, Slack) and can fail the first ones, and a real SMTP
//! server (Python's aiosmtpd from `.venv`) that reports each mail it gets.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// One POST the HTTP receiver got.
#[derive(Debug, Clone)]
pub struct Post {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Post {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Recorded {
    posts: Mutex<Vec<Post>>,
    fail_first: AtomicU64,
}

/// An HTTP server recording POSTs to any path.
pub struct HttpReceiver {
    addr: SocketAddr,
    recorded: Arc<Recorded>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpReceiver {
    /// Starts on a free loopback port; the first `fail_first` POSTs get a 500.
    pub async fn start(fail_first: u64) -> HttpReceiver {
        let recorded = Arc::new(Recorded {
            fail_first: AtomicU64::new(fail_first),
            ..Recorded::default()
        });
        let app = Router::new()
            .route("/{*path}", post(record))
            .with_state(Arc::clone(&recorded));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        HttpReceiver {
            addr,
            recorded,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Successful POSTs to `path`, in order.
    pub fn posts(&self, path: &str) -> Vec<Post> {
        self.recorded
            .posts
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.path == path)
            .cloned()
            .collect()
    }
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(recorded): State<Arc<Recorded>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let failing = recorded
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    recorded.posts.lock().unwrap().push(Post {
        path: format!("/{path}"),
        headers,
        body,
    });
    StatusCode::OK
}

/// The SMTP server: prints `{"port": N}`, then one JSON line per mail.
const SMTP_SERVER: &str = r#"
import asyncio, email, json
from email import policy
from aiosmtpd.smtp import SMTP

class Handler:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "body": message.get_content(),
        }), flush=True)
        return "250 Message accepted for delivery"

async def main():
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(Handler()), "127.0.0.1", 0)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

/// A real SMTP server (aiosmtpd) in a child process.
pub struct SmtpReceiver {
    pub port: u16,
    mails: Arc<Mutex<Vec<Value>>>,
    _child: Child,
}

impl SmtpReceiver {
    pub async fn start() -> SmtpReceiver {
        let python =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup",
            python.display()
        );
        let mut child = Command::new(python)
            .args(["-c", SMTP_SERVER])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines
            .next_line()
            .await
            .unwrap()
            .expect("the SMTP server said nothing");
        let port = serde_json::from_str::<Value>(&first).unwrap()["port"]
            .as_u64()
            .unwrap() as u16;
        let mails = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&mails);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(&line).unwrap());
            }
        });
        SmtpReceiver {
            port,
            mails,
            _child: child,
        }
    }

    /// Every mail received, in order.
    pub fn mails(&self) -> Vec<Value> {
        self.mails.lock().unwrap().clone()
    }
}
