//! `GET /metrics` after real traffic: served, failed over, failed, refused,
//! timed out and streamed requests, each counted under its own labels.
//!
//! The metrics recorder is global to the process, so the gateways of this
//! file share one registry: each test names its routes and models apart.

use steadfast_mock::Faults;

use crate::support::observe::{chat_body, fail_with, renamed, scrape, value};
use crate::support::{Harness, header};

#[tokio::test]
async fn requests_attempts_tokens_and_reloads_are_counted_by_label() {
    let mocks = crate::support::mocks(&["primary", "secondary"]).await;
    let yaml = renamed(
        &mocks,
        "",
        "timeout: 400ms\nretry: { max_attempts: 1 }",
        "counted",
        "c",
    );
    let h = Harness::with_config(mocks, &yaml).await;
    let chat = || h.post_json("/v1/chat/completions", chat_body("counted", false));
    let before = scrape(&h).await;
    let invalid = |text: &str| {
        value(
            text,
            "steadfast_invalid_requests_total",
            &[("endpoint", "chat_completions")],
        )
        .unwrap_or(0.0)
    };
    let reloads = |text: &str, result| {
        value(
            text,
            "steadfast_config_reloads_total",
            &[("result", result)],
        )
        .unwrap_or(0.0)
    };

    assert_eq!(chat().await.status(), 200);
    fail_with(&h.mocks[0], 500);
    let response = chat().await;
    assert_eq!(
        (
            response.status().as_u16(),
            header(&response, "x-steadfast-target")
        ),
        (200, "c1".into())
    );
    fail_with(&h.mocks[1], 500);
    assert_eq!(chat().await.status(), 503);
    fail_with(&h.mocks[0], 400);
    assert_eq!(chat().await.status(), 400);
    h.mocks[0].control().set(Faults {
        latency_ms: 2000,
        ..Faults::default()
    });
    assert_eq!(chat().await.status(), 504);
    let bad = h
        .client
        .post(h.url("/v1/chat/completions"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(h.admin_post("/admin/reload").await.status(), 200);
    std::fs::write(&h.config_path, "routes: [").unwrap();
    assert_ne!(h.admin_post("/admin/reload").await.status(), 200);

    let text = scrape(&h).await;
    let requests = |target, outcome| {
        value(
            &text,
            "steadfast_requests_total",
            &[
                ("route", "counted"),
                ("target", target),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(requests("c0", "served"), Some(1.0), "{text}");
    assert_eq!(requests("c1", "served"), Some(1.0));
    assert_eq!(requests("c1", "failed"), Some(1.0));
    assert_eq!(requests("c0", "client_error"), Some(1.0));
    assert_eq!(requests("c0", "timeout"), Some(1.0));
    assert_eq!(
        requests("none", "served"),
        Some(0.0),
        "known label sets start at zero"
    );
    let attempts = |target, labels: &[(&str, &str)]| {
        let mut all = vec![("route", "counted"), ("target", target)];
        all.extend_from_slice(labels);
        value(&text, "steadfast_attempts_total", &all)
    };
    assert_eq!(attempts("c0", &[("result", "served")]), Some(1.0));
    assert_eq!(
        attempts("c0", &[("result", "failed"), ("kind", "transient")]),
        Some(2.0)
    );
    assert_eq!(
        attempts("c0", &[("result", "failed"), ("kind", "invalid_request")]),
        Some(1.0)
    );
    assert_eq!(
        attempts("c0", &[("result", "failed"), ("kind", "timeout")]),
        Some(1.0)
    );
    assert_eq!(attempts("c1", &[("result", "served")]), Some(1.0));
    assert_eq!(
        attempts("c1", &[("result", "failed"), ("kind", "transient")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "steadfast_request_duration_seconds_count",
            &[("route", "counted")]
        ),
        Some(5.0)
    );
    let timed_out = value(
        &text,
        "steadfast_request_duration_seconds_bucket",
        &[("route", "counted"), ("le", "0.25")],
    );
    assert_eq!(
        timed_out,
        Some(4.0),
        "the 400ms timeout lies above the 0.25s bucket: {text}"
    );
    let tokens = |target, direction| {
        value(
            &text,
            "steadfast_tokens_total",
            &[("target", target), ("direction", direction)],
        )
    };
    assert!(
        tokens("c0", "in").unwrap() > 0.0 && tokens("c0", "out").unwrap() > 0.0,
        "{text}"
    );
    assert!(tokens("c1", "in").unwrap() > 0.0);
    assert_eq!(
        value(&text, "steadfast_breaker_state", &[("name", "c0")]),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "steadfast_target_available", &[("target", "c0")]),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "steadfast_health_status", &[("target", "c0")]),
        Some(0.0)
    );
    // Only this test of the file sends invalid chat requests.
    assert_eq!(invalid(&text), invalid(&before) + 1.0);
    assert!(reloads(&text, "ok") >= reloads(&before, "ok") + 1.0);
    assert!(reloads(&text, "refused") >= reloads(&before, "refused") + 1.0);
    assert!(!text.contains(crate::support::SECRET_KEY));
}

#[tokio::test]
async fn streams_count_time_to_first_token_and_streamed_usage() {
    let mocks = crate::support::mocks(&["primary", "secondary"]).await;
    let yaml = renamed(&mocks, "", "", "streamed", "s");
    let h = Harness::with_config(mocks, &yaml).await;
    fail_with(&h.mocks[0], 503);
    let response = h
        .post_json("/v1/chat/completions", chat_body("streamed", true))
        .await;
    assert_eq!(
        (
            response.status().as_u16(),
            header(&response, "x-steadfast-target")
        ),
        (200, "s1".into())
    );
    let body = response.text().await.unwrap();
    assert!(
        body.contains("[DONE]") && body.contains("\"usage\""),
        "{body}"
    );

    let text = scrape(&h).await;
    let first_token = [("route", "streamed"), ("target", "s1")];
    assert_eq!(
        value(
            &text,
            "steadfast_time_to_first_token_seconds_count",
            &first_token
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "steadfast_attempts_total",
            &[
                ("route", "streamed"),
                ("target", "s0"),
                ("kind", "overloaded")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "steadfast_fallbacks_total",
            &[("from", "s0"), ("kind", "overloaded")]
        ),
        Some(1.0)
    );
    for direction in ["in", "out"] {
        let tokens = value(
            &text,
            "steadfast_tokens_total",
            &[("target", "s1"), ("direction", direction)],
        );
        assert!(tokens.unwrap() > 0.0, "streamed usage {direction}: {text}");
    }
    assert_eq!(
        value(&text, "steadfast_tokens_total", &[("target", "s0")]),
        Some(0.0)
    );
}

/// Refusals are counted once, in one place, for every client API: the
/// Messages and Responses APIs' too (the Messages API's were not counted).
/// Other tests share the registry, so the counts may grow by more.
#[tokio::test]
async fn refusals_are_counted_for_every_client_api() {
    let h = Harness::start(&["refusing"], "", "").await;
    let refused = |text: &str, endpoint: &str| {
        value(
            text,
            "steadfast_invalid_requests_total",
            &[("endpoint", endpoint)],
        )
        .unwrap_or(0.0)
    };
    let before = scrape(&h).await;
    for path in ["/v1/chat/completions", "/v1/messages", "/v1/responses"] {
        for _ in 0..3 {
            let response = h
                .client
                .post(h.url(path))
                .header("content-type", "application/json")
                .body("{not json")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{path}");
        }
    }
    let after = scrape(&h).await;
    for endpoint in ["chat_completions", "messages", "responses"] {
        let counted = refused(&after, endpoint) - refused(&before, endpoint);
        assert!(counted >= 3.0, "{endpoint}: {counted}");
    }
}
