//! Every routing strategy end to end over real sockets.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use steadfast_mock::{Faults, Mode};

use crate::support::observe::{renamed, scrape, value};
use crate::support::{Harness, eventually, header};

fn latency(ms: u64) -> Faults {
    Faults {
        latency_ms: ms,
        ..Faults::default()
    }
}

#[tokio::test]
async fn parallel_answers_with_the_fastest_and_cancels_the_others() {
    let h = Harness::start(&["slow", "fast", "slower"], "", "strategy: parallel").await;
    // The winner takes 100 ms too, so every request is on the wire before it
    // answers: the gateway runs on its own threads, and a loser still
    // connecting when the race ends would never reach its provider at all.
    h.mocks[0].control().set(latency(400));
    h.mocks[1].control().set(latency(100));
    h.mocks[2].control().set(latency(600));
    let started = tokio::time::Instant::now();
    let response = h.chat("race").await;
    assert!(started.elapsed() < Duration::from_millis(350));
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(header(&response, "x-steadfast-attempts"), "3");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "fast here. You said: race"
    );
    // The losers' upstream requests are closed, not left running.
    assert!(
        eventually(Duration::from_secs(2), || async {
            h.mocks[0].control().counts().cancelled == 1
                && h.mocks[2].control().counts().cancelled == 1
        })
        .await
    );
}

#[tokio::test]
async fn parallel_fan_out_limits_the_targets_called() {
    let h = Harness::start(&["a", "b", "c"], "", "strategy: parallel\nfan_out: 2").await;
    // Both called targets answer slowly enough to be sure both were called.
    h.mocks[0].control().set(latency(100));
    h.mocks[1].control().set(latency(100));
    h.chat("x").await;
    assert!(
        eventually(Duration::from_secs(1), || async {
            h.mocks[1].control().counts().requests == 1
        })
        .await
    );
    assert_eq!(h.mocks[2].control().counts().requests, 0);
}

#[tokio::test]
async fn hedged_fires_only_after_the_delay() {
    let h = Harness::start(
        &["first", "second"],
        "",
        "strategy: hedged\nhedge_after: 150ms\nhedge_budget: 1.0",
    )
    .await;
    // A fast first target: no hedge.
    h.mocks[0].control().set(latency(20));
    let response = h.chat("quick").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m0");
    assert_eq!(h.mocks[1].control().counts().requests, 0);
    // A slow first target: the second starts after 150 ms and wins.
    h.mocks[0].control().set(latency(1_000));
    let started = tokio::time::Instant::now();
    let response = h.chat("slow").await;
    let took = started.elapsed();
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_millis(900),
        "{took:?}"
    );
    assert_eq!(h.mocks[1].control().counts().requests, 1);
}

#[tokio::test]
async fn hedges_stay_within_their_budget() {
    let h = Harness::start(
        &["first", "second"],
        "",
        "strategy: hedged\nhedge_after: 10ms\nhedge_budget: 0.1",
    )
    .await;
    h.mocks[0].control().set(latency(60));
    for _ in 0..40 {
        assert_eq!(h.chat("x").await.status(), 200);
    }
    let hedges = h.mocks[1].control().counts().requests;
    assert!(
        hedges <= 4,
        "40 requests with a 10% budget sent {hedges} hedges"
    );
    assert!(hedges >= 1, "no hedge at all");
}

#[tokio::test]
async fn weighted_spreads_by_weight_and_shifts_away_from_a_degraded_target() {
    let h = Harness::start(
        &["a", "b"],
        "circuit_breaker: { consecutive_failures: 0, min_calls: 1000 }",
        "strategy: weighted\nweights: { m0: 3, m1: 1 }\nretry: { max_attempts: 1 }",
    )
    .await;
    let mut served: HashMap<String, u32> = HashMap::new();
    for _ in 0..200 {
        *served
            .entry(header(&h.chat("x").await, "x-steadfast-target"))
            .or_default() += 1;
    }
    let a = served.get("m0").copied().unwrap_or(0);
    assert!(
        (120..=180).contains(&a),
        "3:1 weights gave m0 {a} of 200: {served:?}"
    );

    // m0 degrades: it fails half the time. Its share must fall well below 3/4.
    h.mocks[0].control().set(Faults {
        fail_rate: 0.5,
        ..Faults::default()
    });
    let mut first_tries = 0;
    for _ in 0..200 {
        let response = h.chat("x").await;
        assert_eq!(
            response.status(),
            200,
            "failover keeps every request answered"
        );
        first_tries += 1;
    }
    let requests_to_a = h.mocks[0].control().counts().requests - u64::from(a);
    assert!(
        requests_to_a < 100,
        "a failing target still got {requests_to_a} of {first_tries} requests"
    );
}

#[tokio::test]
async fn quorum_returns_k_choices_from_k_models_and_fails_clearly_below_k() {
    let h = Harness::start(
        &["alpha", "beta", "gamma"],
        "",
        "strategy: quorum\nquorum: 2\nretry: { max_attempts: 1 }",
    )
    .await;
    h.mocks[2].control().set(latency(300));
    let response = h.chat("vote").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let choices = body["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    let mut models: Vec<&str> = choices
        .iter()
        .map(|c| c["model"].as_str().unwrap())
        .collect();
    models.sort_unstable();
    assert_eq!(models, ["m0", "m1"]);
    for choice in choices {
        let text = choice["message"]["content"].as_str().unwrap();
        let expected = if choice["model"] == "m0" {
            "alpha"
        } else {
            "beta"
        };
        assert!(text.starts_with(expected), "{text}");
    }
    assert_eq!(body["model"], "chat");

    // Two of three fail: a quorum of two cannot be had.
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        ..Faults::default()
    });
    h.mocks[1].control().set(Faults {
        mode: Mode::Error,
        ..Faults::default()
    });
    let response = h.chat("vote").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "quorum_not_reached");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs 2 answers")
    );

    let streamed = h
        .post_json("/v1/chat/completions", json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(streamed.status(), 400);
}

#[tokio::test]
async fn fallback_on_limits_which_failures_move_on() {
    let h = Harness::start(
        &["primary", "secondary"],
        "",
        "fallback_on: [rate_limited, context_length]\nretry: { max_attempts: 1 }",
    )
    .await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 500,
        ..Faults::default()
    });
    let response = h.chat("x").await;
    assert_eq!(
        response.status(),
        503,
        "a 500 is not in fallback_on: no failover"
    );
    assert_eq!(h.mocks[1].control().counts().requests, 0);
    h.mocks[0].control().set(Faults {
        mode: Mode::RateLimit,
        ..Faults::default()
    });
    let response = h.chat("x").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
}

/// A target passed over — its bulkhead full — is no failure: the request
/// moves on to the next target even when `fallback_on` names only
/// `[rate_limited, context_length]` (it used to end with a 503).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_passed_over_moves_on_whatever_fallback_on_says() {
    let h = Harness::start(
        &["primary", "secondary"],
        "max_concurrency: 1",
        "fallback_on: [rate_limited, context_length]\nretry: { max_attempts: 1 }",
    )
    .await;
    h.mocks[0].control().set(latency(1_500));
    let holder = {
        let request = h
            .client
            .post(h.url("/v1/chat/completions"))
            .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hold"}]}))
            .send();
        tokio::spawn(async move { request.await.unwrap().status() })
    };
    assert!(
        eventually(Duration::from_secs(2), || async {
            h.mocks[0].control().counts().requests == 1
        })
        .await
    );
    let response = h.chat("x").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(
        h.mocks[0].control().counts().requests,
        1,
        "the full one was not called"
    );
    assert_eq!(holder.await.unwrap(), 200);
}

/// When the route's time budget runs out, the calls still running time out
/// and those that had ended keep their own result: a 502 that came back
/// first is counted as the 502 it was, not as a timeout.
#[tokio::test]
async fn a_route_out_of_time_counts_each_attempt_as_it_ended() {
    // The metrics registry is the process's: models and route named apart.
    let mocks = crate::support::mocks(&["broken", "slow"]).await;
    let yaml = renamed(
        &mocks,
        "",
        "strategy: parallel\ntimeout: 1s\nretry: { max_attempts: 1 }",
        "out-of-time",
        "out-of-time-",
    );
    let h = Harness::with_config(mocks, &yaml).await;
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 502,
        ..Faults::default()
    });
    h.mocks[1].control().set(latency(5_000));
    let response = h
        .post_json(
            "/v1/chat/completions",
            json!({"model": "out-of-time", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(response.status(), 504);
    let text = scrape(&h).await;
    let failed = |target: &str, kind: &str| {
        let labels = [("target", target), ("result", "failed"), ("kind", kind)];
        value(&text, "steadfast_attempts_total", &labels).unwrap_or(0.0)
    };
    assert_eq!(failed("out-of-time-0", "transient"), 1.0, "{text}");
    assert_eq!(failed("out-of-time-0", "timeout"), 0.0, "{text}");
    assert_eq!(failed("out-of-time-1", "timeout"), 1.0, "{text}");
}

#[tokio::test]
async fn a_context_length_failure_skips_straight_to_a_larger_window() {
    let mocks = crate::support::mocks(&["small", "also-small", "large"]).await;
    let yaml = crate::support::config_yaml(&mocks, "", "retry: { max_attempts: 1 }")
        .replace(
            "model: upstream-0\n",
            "model: upstream-0\n    context_window: 8000\n",
        )
        .replace(
            "model: upstream-1\n",
            "model: upstream-1\n    context_window: 8000\n",
        )
        .replace(
            "model: upstream-2\n",
            "model: upstream-2\n    context_window: 128000\n",
        );
    let h = Harness::with_config(mocks, &yaml).await;
    h.mocks[0].control().set_mode(Mode::ContextLength);
    let response = h.chat("a long document").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m2");
    assert_eq!(
        h.mocks[1].control().counts().requests,
        0,
        "a window no larger is skipped without a call"
    );
}

#[tokio::test]
async fn verify_model_rejects_an_answer_from_another_model() {
    let h = Harness::start(
        &["primary", "secondary"],
        "verify_model: true",
        "retry: { max_attempts: 1 }",
    )
    .await;
    h.mocks[0].control().set(Faults {
        answer_model: "some-other-model".into(),
        ..Faults::default()
    });
    let response = h.chat("who are you").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(h.target("m0").await["counts"]["failures"], 1);
    // A dated variant of the configured model is the same model.
    h.mocks[1].control().set(Faults {
        answer_model: "upstream-1-2025-01-01".into(),
        ..Faults::default()
    });
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        ..Faults::default()
    });
    assert_eq!(h.chat("x").await.status(), 200);
}

/// `least_loaded` spreads requests in flight over equivalent targets, and
/// moves away from one that slows down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_loaded_spreads_by_load_and_moves_away_from_a_slow_target() {
    let h = Arc::new(Harness::start(&["a", "b", "c"], "", "strategy: least_loaded").await);
    for mock in &h.mocks {
        mock.control().set(latency(400));
    }
    let spread: Vec<_> = (0..9)
        .map(|_| {
            let h = Arc::clone(&h);
            tokio::spawn(async move { h.chat("spread").await.status() })
        })
        .collect();
    for answer in spread {
        assert_eq!(answer.await.unwrap(), 200);
    }
    let counts: Vec<u64> = h
        .mocks
        .iter()
        .map(|m| m.control().counts().requests)
        .collect();
    assert!(counts.iter().all(|&n| (2..=4).contains(&n)), "{counts:?}");

    h.mocks[0].control().set(latency(1_500));
    h.mocks[1].control().set(latency(50));
    h.mocks[2].control().set(latency(50));
    let mut served = Vec::new();
    for _ in 0..8 {
        served.push(header(&h.chat("again").await, "x-steadfast-target"));
    }
    // Its first slow call is enough: its latency peak counts at once.
    let slow_calls = served.iter().filter(|target| *target == "m0").count();
    assert!(slow_calls <= 1, "{served:?}");
}

/// `least_loaded` gives less to a key near the end of its provider's rate
/// limit (`x-ratelimit-remaining-requests`) before it answers 429.
#[tokio::test]
async fn least_loaded_spares_a_key_near_the_end_of_its_rate_limit() {
    let h = Harness::start(&["spent", "fresh"], "", "strategy: least_loaded").await;
    for (mock, remaining) in h.mocks.iter().zip([10, 900]) {
        mock.control().set(Faults {
            latency_ms: 20,
            ratelimit_remaining: Some(remaining),
            ..Faults::default()
        });
    }
    // Each is measured (and its headroom told) once, then the fresh key
    // takes the calls.
    for _ in 0..12 {
        assert_eq!(h.chat("quota").await.status(), 200);
    }
    let spent = h.mocks[0].control().counts().requests;
    let fresh = h.mocks[1].control().counts().requests;
    assert!(spent <= 2 && fresh >= 10, "spent {spent}, fresh {fresh}");
}
