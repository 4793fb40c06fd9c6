//! A reader of the gateway's `/api/events` stream for tests.

use std::time::Duration;

use serde_json::Value;
use tokio::time::{Instant, timeout};

use crate::support::Harness;

/// An open `/api/events` stream and what it sent so far.
pub(crate) struct Stream {
    pub(crate) response: reqwest::Response,
    pub(crate) text: String,
}

impl Stream {
    pub(crate) async fn open(h: &Harness) -> Stream {
        let response = h.client.get(h.url("/api/events")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "a server-sent event stream"
        );
        Stream {
            response,
            text: String::new(),
        }
    }

    /// Reads until `needle` has arrived, within five seconds.
    pub(crate) async fn until(&mut self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.text.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return false,
            }
        }
        true
    }

    /// The JSON data of every event named `name` (or unnamed, for `None`).
    pub(crate) fn data(&self, name: Option<&str>) -> Vec<Value> {
        self.text
            .split("\n\n")
            .filter(|block| {
                let named = block.lines().find_map(|l| l.strip_prefix("event: "));
                named == name
            })
            .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter_map(|data| serde_json::from_str(data).ok())
            .collect()
    }
}
