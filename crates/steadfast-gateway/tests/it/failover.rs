//! End to end over real sockets: a gateway in front of simulated providers,
//! one test per failure path of a plain (non-streamed) request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use serde_json::{Value, json};
use steadfast_mock::{Faults, Mode};
use steadfast_net as net;

use crate::support::{Harness, SECRET_KEY, eventually, header};

fn mode(mode: Mode) -> Faults {
    Faults {
        mode,
        ..Faults::default()
    }
}

#[tokio::test]
async fn primary_serves_and_unknown_fields_pass_through() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}],
                   "temperature": 0.3, "x_vendor_field": {"keep": [1, 2]}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    assert_eq!(header(&response, "x-steadfast-attempts"), "1");
    assert!(header(&response, "x-request-id").starts_with("req_"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "primary here. You said: hi"
    );
    let seen = h.mocks[0].control().last_request().unwrap();
    assert_eq!(
        seen["model"], "upstream-0",
        "the route name is replaced by the upstream model"
    );
    assert_eq!(seen["x_vendor_field"], json!({"keep": [1, 2]}));
    assert_eq!(seen["temperature"], 0.3);
    assert_eq!(
        h.mocks[0].control().last_authorization().as_deref(),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
    assert_eq!(h.mocks[1].control().counts().requests, 0);
}

#[tokio::test]
async fn server_errors_fail_over_to_the_next_target() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        status: 502,
        ..mode(Mode::Error)
    });
    let response = h.chat("hello").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(header(&response, "x-steadfast-attempts"), "2");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "secondary here. You said: hello"
    );
}

#[tokio::test]
async fn refused_connections_fail_over() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set_mode(Mode::Refuse);
    let response = h.chat("hello").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
}

#[tokio::test]
async fn a_hanging_target_times_out_and_fails_over() {
    let h = Harness::start(&["primary", "secondary"], "timeout: 300ms", "").await;
    h.mocks[0].control().set_mode(Mode::Hang);
    let started = tokio::time::Instant::now();
    let response = h.chat("hello").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(3));
    // The abandoned upstream request was cancelled, not left running.
    assert!(
        eventually(Duration::from_secs(2), || async {
            h.mocks[0].control().counts().cancelled == 1
        })
        .await
    );
}

#[tokio::test]
async fn rate_limits_cool_the_target_down_for_retry_after() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        retry_after: 30,
        ..mode(Mode::RateLimit)
    });
    let first = h.chat("one").await;
    assert_eq!(header(&first, "x-steadfast-target"), "m1");
    assert_eq!(header(&first, "x-steadfast-attempts"), "2");
    h.mocks[0].control().set_mode(Mode::Ok);
    // Within the Retry-After the primary is skipped without a network call.
    let second = h.chat("two").await;
    assert_eq!(header(&second, "x-steadfast-target"), "m1");
    assert_eq!(header(&second, "x-steadfast-attempts"), "1");
    assert_eq!(h.mocks[0].control().counts().requests, 1);
    let target = h.target("m0").await;
    assert!(
        target["cooling_down_ms"].as_u64().unwrap() > 25_000,
        "{target}"
    );
}

#[tokio::test]
async fn context_length_fails_over_without_counting_against_the_model() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set_mode(Mode::ContextLength);
    for _ in 0..3 {
        let response = h.chat("a long prompt").await;
        assert_eq!(header(&response, "x-steadfast-target"), "m1");
    }
    let target = h.target("m0").await;
    assert_eq!(target["breaker"], "closed");
    assert_eq!(target["window_failure_rate"], 0.0, "{target}");
}

#[tokio::test]
async fn a_request_every_model_finds_too_long_is_the_clients_error() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    for mock in &h.mocks {
        mock.control().set_mode(Mode::ContextLength);
    }
    let response = h.chat("a long prompt").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "context_length_exceeded");
}

#[tokio::test]
async fn invalid_requests_go_back_to_the_client_untried_elsewhere() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        status: 400,
        ..mode(Mode::Error)
    });
    let response = h.chat("hello").await;
    assert_eq!(response.status(), 400);
    assert_eq!(header(&response, "x-steadfast-attempts"), "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(h.mocks[1].control().counts().requests, 0);
    assert_eq!(h.target("m0").await["window_failure_rate"], 0.0);
}

#[tokio::test]
async fn rejected_credentials_mark_the_target_and_fail_over() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        status: 401,
        ..mode(Mode::Error)
    });
    let response = h.chat("hello").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    let target = h.target("m0").await;
    assert_eq!(target["misconfigured"], true);
    assert!(!target.to_string().contains(SECRET_KEY));
}

#[tokio::test]
async fn every_target_failing_gives_a_fast_503_in_openais_shape() {
    let h = Harness::start(&["primary", "secondary"], "", "retry: { max_attempts: 1 }").await;
    h.mocks[0].control().set_mode(Mode::Refuse);
    h.mocks[1].control().set(Faults {
        status: 500,
        ..mode(Mode::Error)
    });
    let started = tokio::time::Instant::now();
    let response = h.chat("hello").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "x-steadfast-attempts"), "2");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "all_targets_failed");
    assert_eq!(body["error"]["type"], "service_unavailable");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("m0: transient") && message.contains("m1: transient"),
        "{message}"
    );
    assert!(
        !message.contains("simulated"),
        "upstream bodies are not passed through: {message}"
    );
}

#[tokio::test]
async fn retries_come_back_to_a_failed_target_after_the_others() {
    let h = Harness::start(
        &["only"],
        "",
        "retry: { max_attempts: 3, initial_backoff: 10ms, max_backoff: 20ms, budget: 1.0 }",
    )
    .await;
    h.mocks[0].control().set(Faults {
        fail_rate: 0.0,
        status: 500,
        ..mode(Mode::Error)
    });
    let response = h.chat("hello").await;
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "x-steadfast-attempts"), "3");
    assert_eq!(h.mocks[0].control().counts().requests, 3);
}

#[tokio::test]
async fn the_route_time_budget_bounds_a_hang() {
    let h = Harness::start(&["primary"], "timeout: 10s", "timeout: 300ms").await;
    h.mocks[0].control().set_mode(Mode::Hang);
    let started = tokio::time::Instant::now();
    let response = h.chat("hello").await;
    assert_eq!(response.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(2));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "route_timeout");
}

#[tokio::test]
async fn an_open_breaker_is_skipped_then_half_open_probes_recover_it() {
    let h = Harness::start(
        &["primary", "secondary"],
        "circuit_breaker: { consecutive_failures: 3, open_for: 400ms, half_open_calls: 1 }",
        "retry: { max_attempts: 1 }",
    )
    .await;
    let primary = h.mocks[0].control();
    primary.set(Faults {
        status: 503,
        ..mode(Mode::Error)
    });
    for _ in 0..3 {
        assert_eq!(header(&h.chat("x").await, "x-steadfast-target"), "m1");
    }
    assert_eq!(h.target("m0").await["breaker"], "open");
    // Open: skipped without a network call.
    let response = h.chat("x").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(header(&response, "x-steadfast-attempts"), "1");
    assert_eq!(primary.counts().requests, 3);
    // After open_for, one probe goes through and closes it.
    primary.set_mode(Mode::Ok);
    assert!(
        eventually(Duration::from_secs(5), || async {
            h.target("m0").await["available"] == true
        })
        .await,
        "the open time never ended"
    );
    let response = h.chat("x").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    assert_eq!(h.target("m0").await["breaker"], "closed");
}

#[tokio::test]
async fn embeddings_are_served_and_models_lists_routes() {
    let h = Harness::start(&["primary"], "", "").await;
    let response = h
        .post_json(
            "/v1/embeddings",
            json!({"model": "chat", "input": ["a", "b"]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let models: Value = h
        .client
        .get(h.url("/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "chat");
    assert_eq!(models["object"], "list");
}

#[tokio::test]
async fn a_model_at_its_rate_limit_is_skipped_not_queued() {
    let h = Harness::start(
        &["primary", "secondary"],
        "rate_limit: { requests_per_minute: 2, burst: 60s }",
        "",
    )
    .await;
    for _ in 0..2 {
        assert_eq!(header(&h.chat("x").await, "x-steadfast-target"), "m0");
    }
    let response = h.chat("x").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(
        header(&response, "x-steadfast-attempts"),
        "1",
        "the limited model got no call"
    );
    assert_eq!(h.mocks[0].control().counts().requests, 2);
}

/// A model that was full when its turn came gets another turn on the next
/// pass (where, the last one left, it waits in its queue) instead of being
/// dropped for the rest of the request: a request is not refused while a
/// place it could wait for exists. (Seen in the chaos scenario
/// `priority-shedding`: requests in flight to a provider that went away
/// failed with "east: skipped (busy)" though east's queue had room.)
#[tokio::test]
async fn a_full_model_gets_another_turn_on_the_next_pass() {
    let h = Arc::new(
        Harness::start(
            &["failing", "busy"],
            "max_concurrency: 1\nmax_queue: 1",
            "retry: { max_attempts: 2, initial_backoff: 10ms }",
        )
        .await,
    );
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 502,
        ..Faults::default()
    });
    h.mocks[1].control().set(Faults {
        latency_ms: 400,
        ..Faults::default()
    });
    let first = tokio::spawn({
        let h = Arc::clone(&h);
        async move { h.chat("first").await }
    });
    let holding = eventually(Duration::from_secs(5), || async {
        h.mocks[1].control().in_flight() == 1
    })
    .await;
    assert!(holding, "the first request holds m1's only place");
    let second = h.chat("second").await;
    assert_eq!(
        second.status(),
        200,
        "it waited for m1's place on its second pass"
    );
    assert_eq!(header(&second, "x-steadfast-target"), "m1");
    assert_eq!(first.await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_model_at_its_concurrency_limit_is_skipped_while_others_can_serve() {
    let h = Harness::start(&["primary", "secondary"], "max_concurrency: 1", "").await;
    h.mocks[0].control().set(Faults {
        latency_ms: 400,
        ..Faults::default()
    });
    let slow = tokio::spawn({
        let client = h.client.clone();
        let url = h.url("/v1/chat/completions");
        async move {
            client
                .post(url)
                .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "slow"}]}))
                .send()
                .await
                .unwrap()
        }
    });
    assert!(
        eventually(Duration::from_secs(2), || async {
            h.mocks[0].control().counts().requests == 1
        })
        .await
    );
    let response = h.chat("meanwhile").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(header(&slow.await.unwrap(), "x-steadfast-target"), "m0");
}

#[tokio::test]
async fn failing_health_probes_take_a_model_out_until_they_pass_again() {
    let h = Harness::start(
        &["primary", "secondary"],
        "health_check: { interval: 100ms, timeout: 50ms, retries: 2 }",
        "",
    )
    .await;
    let primary = h.mocks[0].control();
    primary.set(Faults {
        status: 503,
        ..mode(Mode::Error)
    });
    assert!(
        eventually(Duration::from_secs(3), || async {
            h.target("m0").await["health"] == "unhealthy"
        })
        .await,
        "two failed probes make the model unhealthy"
    );
    let before = primary.counts().requests;
    let response = h.chat("x").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(header(&response, "x-steadfast-attempts"), "1");
    assert_eq!(
        primary.counts().requests,
        before,
        "an unhealthy model gets no request"
    );
    let ready: Value = h
        .client
        .get(h.url("/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready", "the route still has a target");
    primary.set_mode(Mode::Ok);
    assert!(
        eventually(Duration::from_secs(3), || async {
            h.target("m0").await["health"] == "healthy"
        })
        .await
    );
    assert_eq!(header(&h.chat("x").await, "x-steadfast-target"), "m0");
    assert!(
        primary.counts().model_lists >= 3,
        "probes hit the models endpoint"
    );
}

#[tokio::test]
async fn health_probes_read_a_long_model_list_and_reuse_their_connection() {
    let provider = Catalogue::start(4_000).await;
    let yaml = format!(
        "server:\n  listen: \"127.0.0.1:0\"\n\
         providers:\n  big: {{ kind: openai, base_url: \"{}\" }}\n\
         models:\n  m0:\n    provider: big\n    model: model-0001\n\
         \x20   health_check: {{ interval: 50ms, timeout: 1s, retries: 1 }}\n\
         routes:\n  chat: {{ targets: [m0] }}\n",
        provider.base_url
    );
    let h = Harness::with_config(Vec::new(), &yaml).await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            provider.lists.load(Ordering::Relaxed) >= 6
        })
        .await,
        "the model is probed"
    );
    assert!(provider.body_bytes > 200_000, "the list spans many reads");
    assert_eq!(
        provider.connections.load(Ordering::Relaxed),
        1,
        "every probe after the first reuses the first one's connection"
    );
    assert_eq!(h.target("m0").await["health"], "healthy");
}

/// A provider with a long model list (a big catalogue arrives over many
/// reads, so a probe that dropped it unread would lose its connection); it
/// counts the connections it accepts and the lists it serves.
struct Catalogue {
    base_url: String,
    body_bytes: usize,
    connections: Arc<AtomicUsize>,
    lists: Arc<AtomicUsize>,
}

impl Catalogue {
    async fn start(models: usize) -> Catalogue {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let data: Vec<Value> = (0..models)
            .map(|i| json!({"id": format!("model-{i:04}"), "object": "model", "owned_by": "catalogue"}))
            .collect();
        let body = json!({"object": "list", "data": data}).to_string();
        let (connections, lists) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let catalogue = Catalogue {
            base_url,
            body_bytes: body.len(),
            connections: Arc::clone(&connections),
            lists: Arc::clone(&lists),
        };
        let router = Router::new().route(
            "/v1/models",
            get(move || {
                lists.fetch_add(1, Ordering::Relaxed);
                let body = body.clone();
                async move { ([(CONTENT_TYPE, "application/json")], body) }
            }),
        );
        tokio::spawn(async move {
            let builder = net::http_builder(&net::ServeOptions::default());
            while let Ok((stream, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(net::serve_connection(&builder, stream, router.clone()));
            }
        });
        catalogue
    }
}

#[tokio::test]
async fn readiness_fails_when_a_route_has_no_available_target() {
    let h = Harness::start(&["only"], "", "").await;
    assert_eq!(
        h.client.get(h.url("/ready")).send().await.unwrap().status(),
        200
    );
    h.admin_post("/admin/models/m0/trip").await;
    let response = h.client.get(h.url("/ready")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["routes_without_targets"], json!(["chat"]));
    let health = h.client.get(h.url("/health")).send().await.unwrap();
    assert_eq!(
        health.status(),
        200,
        "liveness does not depend on upstreams"
    );
}
