//! `GET /api/report` and `steadfast report` after a real outage: a provider
//! fails, its breaker trips, traffic fails over, the provider comes back and
//! the breaker closes; the report counts all of it and times detection and
//! recovery.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use steadfast_mock::Faults;

use crate::support::observe::fail_with;
use crate::support::{Harness, settled};

const BIN: &str = env!("CARGO_BIN_EXE_steadfast");

async fn report(h: &Harness, query: &str) -> (u16, Value) {
    let response = h
        .client
        .get(h.url(&format!("/api/report{query}")))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Runs `steadfast` with `args` off the runtime, which serves the gateway.
async fn steadfast(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || Command::new(BIN).args(args).output().unwrap())
        .await
        .unwrap()
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_reported_with_its_failovers_trip_and_recovery() {
    let h = Harness::start(
        &["primary", "secondary"],
        "circuit_breaker: { consecutive_failures: 2, open_for: 1s }",
        "retry: { max_attempts: 1 }",
    )
    .await;
    let mut sent = 0;
    for _ in 0..5 {
        assert_eq!(h.chat("hi").await.status(), 200);
        sent += 1;
    }
    fail_with(&h.mocks[0], 500);
    while h.target("m0").await["breaker"] != "open" {
        assert_eq!(h.chat("hi").await.status(), 200, "failed over");
        sent += 1;
        assert!(sent < 20, "the breaker never opened");
    }
    for _ in 0..3 {
        assert_eq!(h.chat("hi").await.status(), 200, "m0 skipped");
        sent += 1;
    }
    h.mocks[0].control().set(Faults::default());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        assert_eq!(h.chat("hi").await.status(), 200);
        sent += 1;
        if h.target("m0").await["breaker"] == "closed" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the breaker never closed again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The sampler counts requests every second.
    let (status, last) = settled(
        Duration::from_secs(5),
        || report(&h, "?window=15m"),
        |(_, last)| last["overall"]["requests"] == sent,
    )
    .await;
    assert_eq!(status, 200, "{last}");
    assert_eq!(
        last["overall"]["requests"], sent,
        "{sent} requests sent: {last:#}"
    );
    let overall = &last["overall"];
    assert_eq!(overall["errors"], 0, "{last:#}");
    assert_eq!(overall["availability"], 1.0);
    assert!(overall["failovers"].as_u64().unwrap() >= 5, "{last:#}");
    assert_eq!(overall["breaker_trips"], 1, "{last:#}");
    assert!(
        overall["degraded_minutes"].as_u64().unwrap() >= 1,
        "{last:#}"
    );
    let route = named(&last["routes"], "chat");
    assert_eq!(route["requests"], sent);
    assert_eq!(route["failovers"], overall["failovers"]);
    let m0 = named(&last["targets"], "m0");
    assert!(m0["failures"].as_u64().unwrap() >= 2, "{m0}");
    assert!(m0["out_s"].as_u64().unwrap() >= 1, "{m0}");
    let incident = &last["incidents"][0];
    assert_eq!(
        (&incident["target"], &incident["cause"]),
        (&Value::from("m0"), &Value::from("breaker_open")),
        "{last:#}"
    );
    let detect = incident["detect_ms"].as_u64().expect("detection timed");
    let recover = incident["recover_ms"].as_u64().expect("recovery timed");
    assert!(detect < 2_000, "{incident}");
    assert!(
        (1_000..6_000).contains(&recover),
        "open for 1s, then probed: {incident}"
    );
    assert_eq!(overall["mttr_ms"], recover as f64);
    assert_eq!(last["window_s"], 900);

    let out = steadfast(&["report", "--url", &h.url(""), "--window", "15m"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Steadfast report: last 15m"), "{text}");
    assert!(text.contains("availability 100.00%"), "{text}");
    for needle in ["chat", "m0", "m1", "breaker open", &format!("{recover} ms")] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
    let json = steadfast(&["report", "--url", &h.url("/"), "--json"]).await;
    let parsed: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed["window_s"], 3600);
    assert_eq!(parsed["overall"]["breaker_trips"], 1);
}

#[tokio::test]
async fn a_bad_window_is_refused_with_the_reason() {
    let h = Harness::start(&["primary"], "", "").await;
    let (status, body) = report(&h, "?window=25h").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_window");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("give 1s to 24h"),
        "{body}"
    );
    let (status, body) = report(&h, "?window=soon").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = report(&h, "").await;
    assert_eq!((status, &body["window_s"]), (200, &Value::from(3600)));

    let out = steadfast(&["report", "--url", &h.url(""), "--window", "2d"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("400") && stderr.contains("window"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_gateway_is_named() {
    let port = crate::support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = Command::new(BIN)
        .args(["report", "--url", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach") && stderr.contains(&url),
        "{stderr}"
    );
}
