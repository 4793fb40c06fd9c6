//! Streams that would hold the gateway's resources for as long as somebody
//! likes: a client that never reads (over HTTP/1 and HTTP/2), an upstream
//! that never ends, and a client that opens more streams than it may.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use steadfast_mock::{Faults, MockServer, Mode};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::{Binary, LOOPBACK, config};
use crate::support::{eventually, header, mocks};

fn stream_request() -> Value {
    json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "go on"}]})
}

/// Providers `endless` (streams without end, 16 KiB a chunk) and `spare`
/// behind route `chat`, one request at a time per model, and a gateway that
/// gives a stalled client one second.
async fn endless_gateway(server: &str, route: &str, clients: &str) -> (Vec<MockServer>, Binary) {
    let mocks = mocks(&["endless", "spare"]).await;
    mocks[0].control().set(Faults {
        mode: Mode::EndlessStream,
        reply: "y".repeat(16 * 1024),
        ..Faults::default()
    });
    let server = format!("write_timeout: 1s\n{server}");
    let mut yaml = config(&mocks, LOOPBACK, &server, "max_concurrency: 1", route);
    yaml.push_str(clients);
    let gateway = Binary::start(&yaml).await;
    (mocks, gateway)
}

/// Whether a plain chat request is served by `target` (not failed over).
async fn served_by(gateway: &Binary, target: &str) -> bool {
    let answer = reqwest::Client::new()
        .post(gateway.at("/v1/chat/completions"))
        .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    answer.status() == StatusCode::OK && header(&answer, "x-steadfast-target") == target
}

#[tokio::test]
async fn a_client_that_never_reads_its_stream_releases_the_upstream_and_the_slot() {
    let (mocks, gateway) = endless_gateway("", "", "").await;
    // HTTP/1.1 by hand: the request is sent, and not one byte is read back.
    let mut socket = gateway.connect().await;
    let body = stream_request().to_string();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body.as_bytes()).await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || async {
            mocks[0].control().counts().requests == 1
        })
        .await,
        "the stream never reached the provider"
    );
    // While the stream holds m0's one slot, requests go to the spare.
    assert!(served_by(&gateway, "m1").await);
    // Once the client has read nothing for write_timeout, the slot is free
    // and the upstream call ended.
    let freed = eventually(Duration::from_secs(20), || async {
        mocks[0].control().counts().cancelled == 1 && served_by(&gateway, "m0").await
    })
    .await;
    assert!(
        freed,
        "the never-reading client still holds m0: {:?}",
        mocks[0].control().counts()
    );
    drop(socket);
}

#[tokio::test]
async fn a_client_that_never_reads_its_http2_stream_releases_the_slot() {
    let (mocks, gateway) = endless_gateway("", "", "").await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .http2_initial_stream_window_size(65_535)
        .http2_initial_connection_window_size(65_535)
        .build()
        .unwrap();
    let held = client
        .post(gateway.at("/v1/chat/completions"))
        .json(&stream_request())
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), StatusCode::OK);
    assert_eq!(held.version(), reqwest::Version::HTTP_2);
    // The body is never read: the stream's flow-control window fills and
    // the gateway can send no more.
    let freed = eventually(Duration::from_secs(20), || async {
        mocks[0].control().counts().cancelled == 1 && served_by(&gateway, "m0").await
    })
    .await;
    assert!(freed, "the stalled HTTP/2 stream still holds m0");
    assert!(gateway.metric("steadfast_stalled_streams_total ").await >= 1.0);
    assert!(gateway.logs().contains("the stream is given up"));
    // What the client gets of it ends in an error, not as a whole answer.
    let read = tokio::time::timeout(Duration::from_secs(10), held.bytes()).await;
    assert!(
        matches!(read, Ok(Err(_))),
        "a given-up stream ended cleanly: {read:?}"
    );
}

/// A provider streaming without end, a chunk every `chunk_interval_ms`,
/// behind a route whose streams end at `deadline`; the stream requested,
/// and when.
async fn deadline_stream(
    chunk_interval_ms: u64,
    deadline: &str,
) -> (Vec<MockServer>, Binary, Instant, reqwest::Response) {
    let mocks = mocks(&["endless"]).await;
    mocks[0].control().set(Faults {
        mode: Mode::EndlessStream,
        chunk_interval_ms,
        ..Faults::default()
    });
    let route = format!("stream_deadline: {deadline}");
    let gateway = Binary::start(&config(&mocks, LOOPBACK, "", "", &route)).await;
    let started = Instant::now();
    let answer = reqwest::Client::new()
        .post(gateway.at("/v1/chat/completions"))
        .json(&stream_request())
        .send()
        .await
        .unwrap();
    (mocks, gateway, started, answer)
}

#[tokio::test]
async fn an_upstream_that_never_ends_is_cut_at_the_stream_deadline() {
    let (mocks, _gateway, started, answer) = deadline_stream(50, "1500ms").await;
    assert_eq!(answer.status(), StatusCode::OK);
    let text = tokio::time::timeout(Duration::from_secs(10), answer.text())
        .await
        .expect("the stream did not end")
        .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let events = crate::support::events(&text);
    assert!(events.len() > 5, "{text}");
    let last = events.last().unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stream_deadline"),
        "{last}"
    );
    assert!(!text.contains("[DONE]"));
    assert!(
        eventually(Duration::from_secs(5), || async {
            mocks[0].control().counts().cancelled == 1
        })
        .await,
        "the upstream call was not ended"
    );
}

#[tokio::test]
async fn an_upstream_that_never_pauses_is_cut_at_the_stream_deadline_too() {
    let (_mocks, _gateway, started, mut answer) = deadline_stream(0, "1s").await;
    let mut last = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = answer.chunk().await.unwrap() {
            last = chunk.to_vec();
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "a stream that never pauses outlived its deadline"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let last = String::from_utf8_lossy(&last);
    assert!(last.contains("stream_deadline"), "{last}");
}

#[tokio::test]
async fn an_open_stream_counts_against_its_client_until_it_ends() {
    let clients = "clients:\n  team: { key: \"sk-team-0123456789\", max_concurrent_requests: 1 }\n";
    let (_mocks, gateway) = endless_gateway("", "", clients).await;
    let client = reqwest::Client::new();
    let send = |body: Value| {
        client
            .post(gateway.at("/v1/chat/completions"))
            .bearer_auth("sk-team-0123456789")
            .json(&body)
            .send()
    };
    let mut open = send(stream_request()).await.unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    assert!(open.chunk().await.unwrap().is_some());
    let plain = json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]});
    let refused = send(plain.clone()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "retry-after"), "1");
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "concurrency_limit_exceeded");
    drop(open);
    let admitted = eventually(Duration::from_secs(5), || async {
        send(plain.clone()).await.unwrap().status() == StatusCode::OK
    })
    .await;
    assert!(admitted, "the ended stream still counts against its client");
}
