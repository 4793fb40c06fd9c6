//! Thousands of `/api/events` subscribers: a cap with a clear refusal, a
//! status built once a second for all of them, and `/health` unhurt.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{Binary, LOOPBACK, config};
use crate::support::mocks;

const SUBSCRIBERS: usize = 3000;

async fn subscribe(gateway: &Binary) -> TcpStream {
    let mut socket = gateway.connect().await;
    socket
        .write_all(
            b"GET /api/events HTTP/1.1\r\nhost: localhost\r\naccept: text/event-stream\r\n\r\n",
        )
        .await
        .unwrap();
    socket
}

/// Reads from `socket` until `needle` has arrived (or `within` passes).
async fn read_until(socket: &mut TcpStream, needle: &str, within: Duration) -> String {
    let mut read = Vec::new();
    let _ = tokio::time::timeout(within, async {
        let mut buffer = [0; 8192];
        while !String::from_utf8_lossy(&read).contains(needle) {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&read).into_owned()
}

/// `/health` latencies, sorted, over `count` sequential requests.
async fn health_latencies(gateway: &Binary, count: usize) -> Vec<Duration> {
    let client = reqwest::Client::new();
    let mut latencies = Vec::new();
    for _ in 0..count {
        let started = Instant::now();
        let answer = client.get(gateway.at("/health")).send().await.unwrap();
        assert!(answer.status().is_success());
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort();
    latencies
}

#[tokio::test]
async fn three_thousand_subscribers_share_one_status_a_second_and_health_stays_fast() {
    let mocks = mocks(&["primary"]).await;
    let server = format!("max_event_subscribers: {SUBSCRIBERS}");
    let gateway = Binary::start(&config(&mocks, LOOPBACK, &server, "", "")).await;
    let quiet = health_latencies(&gateway, 50).await;

    let mut subscribers = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        subscribers.push(subscribe(&gateway).await);
    }
    // Every stream is open and gets its status events.
    for socket in &mut subscribers {
        let read = read_until(socket, "event: sample", Duration::from_secs(15)).await;
        assert!(read.starts_with("HTTP/1.1 200"), "{read}");
        assert!(read.contains("event: status"), "{read}");
    }
    // Past the cap, a clear refusal.
    let mut refused = subscribe(&gateway).await;
    let answer = read_until(&mut refused, "too_many_subscribers", Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");

    let busy = health_latencies(&gateway, 50).await;
    let p99 = |l: &[Duration]| l[l.len() * 99 / 100 - 1];
    println!(
        "/health with no subscriber: p50 {:?} p99 {:?}; with {SUBSCRIBERS}: p50 {:?} p99 {:?}; gateway RSS {} KiB",
        quiet[quiet.len() / 2],
        p99(&quiet),
        busy[busy.len() / 2],
        p99(&busy),
        gateway.rss_kib()
    );
    assert!(
        p99(&busy) < Duration::from_millis(250),
        "p99 {:?}",
        p99(&busy)
    );
    drop(subscribers);
}

#[tokio::test]
async fn subscribers_past_the_default_cap_are_refused() {
    let mocks = mocks(&["primary"]).await;
    let gateway = Binary::start(&config(&mocks, LOOPBACK, "", "", "")).await;
    let mut open = Vec::new();
    for _ in 0..256 {
        open.push(subscribe(&gateway).await);
    }
    // Each is served before the next test: threads accept in their own order.
    for socket in &mut open {
        let head = read_until(socket, "\r\n\r\n", Duration::from_secs(5)).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    let mut refused = subscribe(&gateway).await;
    let answer = read_until(&mut refused, "too_many_subscribers", Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_lowercase().contains("retry-after: 5"), "{answer}");
    open.truncate(200);
    let mut again = subscribe(&gateway).await;
    let welcomed = read_until(&mut again, "\r\n\r\n", Duration::from_secs(5)).await;
    assert!(welcomed.starts_with("HTTP/1.1 200"), "{welcomed}");
}
