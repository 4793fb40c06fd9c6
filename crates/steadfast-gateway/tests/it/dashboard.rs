//! The live dashboard: the event stream and status over real sockets, and the
//! page in a real headless Chromium reflecting a breaker that opens upstream.

mod browser;
mod sse;

use std::path::PathBuf;
use std::time::Duration;

use browser::Browser;
use serde_json::Value;
use sse::Stream;
use steadfast::events::Event;
use steadfast_mock::{Faults, Mode};
use tokio::time::{Instant, timeout};

use crate::support::{ADMIN_TOKEN, Harness, SECRET_KEY, eventually};

/// Breakers that open after three failures in a row and stay open.
const BREAKER: &str =
    "circuit_breaker: { consecutive_failures: 3, open_for: 60s, half_open_calls: 1 }";

#[tokio::test]
async fn event_stream_carries_status_transitions_and_reloads_and_ends_on_shutdown() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    let mut stream = Stream::open(&h).await;
    assert!(
        stream.until("event: status").await,
        "a status event at once"
    );
    assert!(stream.until("\n\n").await);
    let status = &stream.data(Some("status"))[0];
    let names: Vec<&str> = status["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["m0", "m1"], "the same JSON as /api/status");
    assert_eq!(status["routes"][0]["name"], "chat");

    assert_eq!(h.admin_post("/admin/models/m0/trip").await.status(), 200);
    assert!(stream.until("\"breaker_state_changed\"").await);
    assert!(stream.until("\n\n").await);
    let transition = stream
        .data(None)
        .into_iter()
        .find(|e| e["type"] == "breaker_state_changed")
        .unwrap();
    assert_eq!(transition["name"], "m0");
    assert_eq!(transition["from"], "closed");
    assert_eq!(transition["to"], "forced_open");
    assert!(transition["time"].as_u64().unwrap() > 1_600_000_000_000);

    assert_eq!(h.admin_post("/admin/reload").await.status(), 200);
    assert!(stream.until("\"reload\"").await, "reloads reach the stream");
    assert!(stream.until("event: sample").await, "per-second samples");
    for secret in [SECRET_KEY, ADMIN_TOKEN] {
        assert!(!stream.text.contains(secret), "the stream leaks a secret");
    }

    let history: Value = h
        .client
        .get(h.url("/api/history"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["breaker_state_changed", "reload"]);
    assert!(!history["samples"].as_array().unwrap().is_empty());

    let Harness { gateway, .. } = h;
    let stopped = timeout(Duration::from_secs(5), gateway.shutdown()).await;
    assert!(
        stopped.is_ok(),
        "an open event stream must not hold up shutdown"
    );
    let end = timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.response.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "the stream ends when the gateway stops");
}

#[tokio::test]
async fn a_lagging_subscriber_skips_missed_events_and_keeps_streaming() {
    let h = Harness::start(&["primary"], "", "").await;
    let mut stream = Stream::open(&h).await;
    assert!(stream.until("event: status").await);
    // This test's runtime has one thread: the server cannot drain the stream
    // while the flood is sent, so the subscriber falls behind the bus.
    let events = h.gateway.state().proxy.events();
    for _ in 0..3000 {
        events.emit(Event::RetryBudgetExhausted {
            name: "flood".into(),
        });
    }
    assert!(stream.until(": skipped ").await, "told what it missed");
    assert_eq!(h.admin_post("/admin/models/m0/trip").await.status(), 200);
    assert!(
        stream.until("\"forced_open\"").await,
        "and goes on streaming"
    );
}

#[tokio::test]
async fn status_tells_success_rate_traffic_share_and_health() {
    let h = Harness::start(&["primary", "secondary"], BREAKER, "").await;
    for _ in 0..3 {
        assert_eq!(h.chat("hi").await.status(), 200);
    }
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        ..Faults::default()
    });
    assert_eq!(h.chat("hi").await.status(), 200);
    let m0 = h.target("m0").await;
    let m1 = h.target("m1").await;
    assert_eq!(m0["success_rate"], 0.75);
    assert_eq!(m0["traffic_share"], 0.8, "4 of 5 attempts");
    assert_eq!(m1["success_rate"], 1.0);
    assert_eq!(m1["traffic_share"], 0.2);
    assert_eq!(m0["health"], "unknown");
    // The last minute's figures follow the per-second samples.
    let sampled = eventually(Duration::from_secs(3), || async {
        h.target("m0").await["recent"]["attempts"] == 4
    })
    .await;
    assert!(sampled, "recent attempts come from the history");
    let m0 = h.target("m0").await;
    assert_eq!(m0["recent"]["success_rate"], 0.75);
    assert_eq!(m0["recent"]["traffic_share"], 0.8);
}

#[tokio::test]
async fn page_is_self_contained() {
    let h = Harness::start(&["primary"], "", "").await;
    let response = h.client.get(h.url("/dashboard")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    let page = response.text().await.unwrap();
    assert!(page.contains("<svg id=\"chart-traffic\""));
    assert!(
        page.contains("new EventSource(\"/api/events\")"),
        "the script is inlined"
    );
    assert!(!page.contains("/*STYLE*/") && !page.contains("/*SCRIPT*/"));
    for external in ["<script src", "rel=\"stylesheet\"", "https://", "@import"] {
        assert!(!page.contains(external), "the page loads {external}");
    }
}

/// Where the screenshot is kept (out of git): the workspace's `target/artifacts`.
fn screenshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/artifacts/dashboard.png")
}

/// The breaker state the page shows for `target`.
fn breaker_text(target: &str) -> String {
    format!(
        "const cell = document.querySelector('tr[data-target=\"{target}\"] .breaker .state-text'); \
         return cell ? cell.textContent : null;"
    )
}

#[tokio::test]
async fn browser_shows_every_target_and_a_breaker_opening_within_two_seconds() {
    // Each model's learned concurrency limit is shown; one request at a
    // time never raises it.
    let models = format!("{BREAKER}\nadaptive_concurrency: {{ initial: 5 }}");
    let h = Harness::start(&["primary", "secondary", "tertiary"], &models, "").await;
    // Some traffic first, so the charts have a few seconds to draw.
    let warmed = eventually(Duration::from_secs(10), || async {
        h.chat("warm up").await;
        let history: Value = h
            .client
            .get(h.url("/api/history"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        history["samples"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["targets"]["m0"]["attempts"].as_u64() > Some(0))
            .count()
            >= 3
    })
    .await;
    assert!(warmed);

    let browser = Browser::start().await;
    browser.goto(&h.url("/dashboard")).await;
    let shown = browser
        .wait_for(
            Duration::from_secs(10),
            "return ['m0', 'm1', 'm2'].every(name => \
               document.querySelector(`tr[data-target=\"${name}\"] .breaker .state-text`)?.textContent === 'closed') \
             && document.querySelector('tr[data-target=\"m0\"] .concurrency')?.textContent === '0 of 5 in flight (learned limit)' \
             && document.querySelector('[data-route=\"chat\"]') !== null \
             && document.getElementById('connection').textContent.includes('live');",
        )
        .await;
    assert!(
        shown,
        "every target shown closed with its learned limit, the route, a live connection"
    );

    let injected = Instant::now();
    h.mocks[0].control().set(Faults {
        mode: Mode::Error,
        status: 502,
        ..Faults::default()
    });
    for _ in 0..3 {
        assert_eq!(
            h.chat("during the outage").await.status(),
            200,
            "failover serves"
        );
    }
    let opened = eventually(Duration::from_secs(2), || async {
        browser.script(&breaker_text("m0")).await == "open"
    })
    .await;
    let took = injected.elapsed();
    assert!(
        opened,
        "the page shows m0's breaker open within 2 s (after {took:?})"
    );
    assert_eq!(browser.script(&breaker_text("m1")).await, "closed");
    let on_timeline = browser
        .wait_for(
            Duration::from_secs(2),
            "return [...document.querySelectorAll('#timeline li[data-type=\"breaker_state_changed\"]')] \
               .some(li => li.textContent.includes('m0 breaker closed → open'));",
        )
        .await;
    assert!(on_timeline, "the transition is on the timeline");
    let summary = browser
        .script("return document.getElementById('summary').textContent;")
        .await;
    assert!(
        summary
            .as_str()
            .unwrap()
            .contains("m0 unavailable (breaker open)"),
        "{summary}"
    );

    // Traffic after the outage, until the charts have drawn a second of it.
    let drawn = eventually(Duration::from_secs(5), || async {
        h.chat("after").await;
        browser
            .script("return state.samples.some(s => (s.targets.m1?.attempts ?? 0) > 0);")
            .await
            == true
    })
    .await;
    assert!(drawn, "the charts show the traffic moving to m1");
    browser
        .script("document.querySelector('[data-window=\"60\"]').click(); return true;")
        .await;
    let zoomed = browser
        .script("return document.getElementById('window-label').textContent;")
        .await;
    assert_eq!(zoomed, "1 minute");
    browser.screenshot(&screenshot_path()).await;

    let errors: Vec<Value> = browser
        .console()
        .await
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[tokio::test]
async fn browser_signs_in_with_the_ops_token_and_sees_what_the_cache_answered() {
    let mocks = crate::support::mocks(&["primary"]).await;
    let mut yaml = crate::support::config_yaml(&mocks, "", "cache: { mode: normal }");
    yaml = yaml.replacen(
        "server:\n",
        "server:\n  ops_token: \"ops-token-for-the-browser\"\n",
        1,
    );
    let h = Harness::with_config(mocks, &yaml).await;
    for _ in 0..3 {
        let body = serde_json::json!({"model": "chat", "temperature": 0,
            "messages": [{"role": "user", "content": "same question"}]});
        assert_eq!(
            h.post_json("/v1/chat/completions", body).await.status(),
            200
        );
    }

    let browser = Browser::start().await;
    browser.goto(&h.url("/dashboard")).await;
    let form = browser
        .wait_for(
            Duration::from_secs(10),
            "return document.querySelector('form[action=\"/dashboard/login\"] input[name=\"token\"]') !== null;",
        )
        .await;
    assert!(form, "the sign-in form is shown");
    browser
        .script(
            "document.getElementById('token').value = 'ops-token-for-the-browser'; \
             document.querySelector('form').submit(); return true;",
        )
        .await;
    let live = browser
        .wait_for(
            Duration::from_secs(10),
            "return document.getElementById('connection')?.textContent.includes('live') \
             && (document.querySelector('[data-degraded=\"chat\"]')?.textContent ?? '').includes('2 hits');",
        )
        .await;
    assert!(
        live,
        "signed in: the page streams and shows the route's cache hits"
    );
    // The sign-in page itself comes with a 401, which the browser notes.
    let errors: Vec<Value> = browser
        .console()
        .await
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .filter(|entry| {
            !entry["message"]
                .as_str()
                .unwrap_or_default()
                .contains("401")
        })
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
