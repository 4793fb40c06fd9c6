//! Connections that hold the gateway open: more of them than it takes, and
//! idle ones, over HTTP/1 and HTTP/2 alike.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Binary, LOOPBACK, config};
use crate::support::mocks;

/// Reads until the peer closes; everything read, or `None` if it stays open
/// past `within`.
async fn read_to_close(socket: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut read = Vec::new();
    // A reset after the answer is a close too: only the time counts.
    let closed = tokio::time::timeout(within, socket.read_to_end(&mut read)).await;
    closed.is_ok().then_some(read)
}

#[tokio::test]
async fn connections_past_the_cap_get_a_503_and_the_rest_keep_serving() {
    let mocks = mocks(&["primary"]).await;
    let gateway = Binary::start(&config(&mocks, LOOPBACK, "max_connections: 20", "", "")).await;
    // Which connections the cap refuses depends on the order the serving
    // threads accept them in: five of 25 are refused, give or take the start
    // probe's connection if the gateway has not seen it close yet.
    let mut sockets = Vec::new();
    for _ in 0..25 {
        sockets.push(gateway.connect().await);
    }
    let mut held = Vec::new();
    let mut refusals = Vec::new();
    for mut socket in sockets {
        match read_to_close(&mut socket, Duration::from_millis(500)).await {
            Some(answer) => refusals.push(String::from_utf8(answer).unwrap()),
            None => held.push(socket),
        }
    }
    assert!(
        (5..=6).contains(&refusals.len()),
        "{} refused",
        refusals.len()
    );
    for answer in &refusals {
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("too_many_connections"), "{answer}");
        assert!(answer.to_lowercase().contains("retry-after: 1"), "{answer}");
    }
    // A held connection still serves.
    let socket = &mut held[0];
    socket
        .write_all(b"GET /health HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let health = read_to_close(socket, Duration::from_secs(5)).await.unwrap();
    assert!(String::from_utf8_lossy(&health).starts_with("HTTP/1.1 200"));
    drop(held);
    let again = crate::support::eventually(Duration::from_secs(5), || async {
        reqwest::get(gateway.at("/health"))
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    assert!(again, "the closed connections were not given back");
}

#[tokio::test]
async fn idle_connections_are_closed_over_http1_and_http2() {
    let mocks = mocks(&["primary"]).await;
    let gateway = Binary::start(&config(&mocks, LOOPBACK, "client_timeout: 1s", "", "")).await;
    // HTTP/1.1: one request on a keep-alive connection, then silence.
    let mut http1 = gateway.connect().await;
    http1
        .write_all(b"GET /health HTTP/1.1\r\nhost: gateway\r\n\r\n")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let read = read_to_close(&mut http1, Duration::from_secs(5))
        .await
        .expect("an idle HTTP/1.1 connection stayed open");
    assert!(String::from_utf8_lossy(&read).starts_with("HTTP/1.1 200"));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // HTTP/2 with prior knowledge: the preface and settings, then silence.
    let mut http2 = gateway.connect().await;
    http2
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let read = read_to_close(&mut http2, Duration::from_secs(5))
        .await
        .expect("an idle HTTP/2 connection stayed open");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    // Its frames end with a GOAWAY (type 7).
    assert!(goaway(&read), "no GOAWAY in {read:?}");

    // A slow head over HTTP/2: a HEADERS frame whose block never ends
    // (no END_HEADERS, no CONTINUATION) is cut at the same limit.
    let mut slow = gateway.connect().await;
    slow.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    // HEADERS on stream 1 with END_STREAM only, two bytes of an HPACK block.
    slow.write_all(b"\x00\x00\x02\x01\x01\x00\x00\x00\x01\x82\x86")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let read = read_to_close(&mut slow, Duration::from_secs(5))
        .await
        .expect("a never-ending HTTP/2 head held its connection open");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "closed at once, not by the limit: {took:?}"
    );
    assert!(goaway(&read), "no GOAWAY in {read:?}");
}

/// Whether HTTP/2 `frames` (after the server's preface) hold a GOAWAY.
fn goaway(frames: &[u8]) -> bool {
    let mut at = 0;
    while at + 9 <= frames.len() {
        let length = usize::from(frames[at]) << 16
            | usize::from(frames[at + 1]) << 8
            | usize::from(frames[at + 2]);
        if frames[at + 3] == 7 {
            return true;
        }
        at += 9 + length;
    }
    false
}

/// The client preface and a SETTINGS frame giving every stream a flow-control
/// window of 0 (`SETTINGS_INITIAL_WINDOW_SIZE`, id 4): the server may send
/// headers, never a byte of a body.
const ZERO_WINDOW_PREFACE: &[u8] =
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00";

/// HEADERS on stream 1 (END_STREAM, END_HEADERS): `GET http /health`.
const GET_HEALTH: &[u8] = b"\x00\x00\x0b\x01\x05\x00\x00\x00\x01\x82\x86\x04\x07/health";

#[tokio::test]
async fn http2_clients_that_never_open_their_window_cannot_hold_the_connection_cap() {
    let mocks = mocks(&["primary"]).await;
    let server = "max_connections: 2\nwrite_timeout: 1s";
    let gateway = Binary::start(&config(&mocks, LOOPBACK, server, "", "")).await;
    // Two connections fill the cap, each with a response it will never read.
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut socket = gateway.connect().await;
        socket.write_all(ZERO_WINDOW_PREFACE).await.unwrap();
        socket.write_all(GET_HEALTH).await.unwrap();
        holders.push(socket);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = tokio::time::Instant::now();
    for socket in &mut holders {
        let read = read_to_close(socket, Duration::from_secs(10))
            .await
            .expect("a connection whose client never reads kept its place");
        assert!(!read.is_empty());
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "released after {took:?}");
    let answer = reqwest::get(gateway.at("/health")).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "the cap is free again");
}
