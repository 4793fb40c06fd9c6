//! With the `otlp` feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, a request
//! that fails over is exported as one trace (the request and an attempt per
//! target) to a real OTLP/HTTP receiver on loopback, joined to the client's
//! `traceparent` and passed on to the upstream, and flushed when the gateway
//! stops.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;

use crate::support::observe::{chat_body, fail_with};
use crate::support::{SECRET_KEY, ServeProcess, header};

/// Every export received: its content type and body.
type Exports = Arc<Mutex<Vec<(String, Bytes)>>>;

async fn receiver() -> (String, Exports) {
    let exports: Exports = Arc::default();
    let store = Arc::clone(&exports);
    let app = Router::new().route(
        "/v1/traces",
        post(move |headers: HeaderMap, body: Bytes| async move {
            let kind = headers
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            store.lock().unwrap().push((kind, body));
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, exports)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_is_exported_as_one_trace_and_flushed_on_stop() {
    let mocks = crate::support::mocks(&["primary", "secondary"]).await;
    fail_with(&mocks[0], 500);
    let (collector, exports) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let yaml = crate::support::config_yaml(&mocks, "", "retry: { max_attempts: 1 }")
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let config = dir.path().join("steadfast.yaml");
    std::fs::write(&config, yaml).unwrap();
    let gateway = ServeProcess::start(
        &[],
        &config,
        port,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector),
            // Batches wait a minute: what arrives was flushed by the shutdown.
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let url = gateway.url.clone();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = client
        .post(format!("{url}/v1/chat/completions"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&chat_body("chat", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    let passed_on = mocks[1].control().last_header("traceparent").unwrap();
    assert!(
        passed_on.starts_with(&format!("00-{trace_id}-"))
            && !passed_on.contains("00f067aa0ba902b7"),
        "the upstream call is a child span of the client's trace: {passed_on}"
    );
    assert!(
        exports.lock().unwrap().is_empty(),
        "nothing before the flush"
    );

    gateway.terminate().await;

    let exports = exports.lock().unwrap();
    assert!(!exports.is_empty(), "no trace exported");
    let body: Vec<u8> = exports.iter().flat_map(|(_, b)| b.to_vec()).collect();
    assert!(
        exports
            .iter()
            .all(|(kind, _)| kind == "application/x-protobuf")
    );
    let raw_trace_id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    for needle in [
        b"route chat".as_slice(),
        b"attempt m0",
        b"attempt m1",
        b"steadfast",
        b"upstream-1",
        b"transient",
        &raw_trace_id,
    ] {
        assert!(
            contains(&body, needle),
            "{:?} not exported",
            String::from_utf8_lossy(needle)
        );
    }
    assert!(
        !contains(&body, SECRET_KEY.as_bytes()),
        "the API key leaked"
    );
}
