//! Alerts end to end: a gateway in front of simulated providers notifies real
//! receivers on loopback (an HTTP server for webhooks and Slack, aiosmtpd for
//! email) when failures are injected, escalates, and resolves on recovery.

use std::path::Path;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use steadfast_config as config;
use steadfast_mock::{Faults, Mode};

use crate::receivers::{HttpReceiver, Post, SmtpReceiver};
use crate::support::{Harness, config_yaml, eventually, mocks};

const HOOK_SECRET: &str = "whsec-test-DO-NOT-LEAK-91c2";
const WAIT: Duration = Duration::from_secs(10);

fn failing(status: u16) -> Faults {
    Faults {
        mode: Mode::Error,
        status,
        ..Faults::default()
    }
}

/// Checks the `X-Steadfast-Signature` of `post` with an HMAC of our own.
fn assert_signed(post: &Post) {
    let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(&post.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        post.header("x-steadfast-signature"),
        format!("sha256={expected}")
    );
}

fn events(posts: &[Post]) -> Vec<String> {
    posts
        .iter()
        .map(|p| p.json()["event"].as_str().unwrap().to_owned())
        .collect()
}

async fn alerts(h: &Harness) -> Value {
    h.client
        .get(h.url("/api/alerts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn consecutive_failures_fire_once_escalate_by_email_and_resolve_everywhere() {
    let http = HttpReceiver::start(0).await;
    let smtp = SmtpReceiver::start().await;
    let mocks = mocks(&["primary", "secondary"]).await;
    let mut yaml = config_yaml(&mocks, "", "");
    yaml.push_str(&format!(
        r#"alerts:
  evaluate_every: 20ms
  escalate_after: 300ms
  channels:
    hook: {{ kind: webhook, url: "{hook}", secret: "{HOOK_SECRET}" }}
    slack: {{ kind: slack, webhook_url: "{slack}" }}
    oncall:
      kind: email
      host: 127.0.0.1
      port: {port}
      tls: none
      from: "Steadfast <steadfast@example.com>"
      to: ["oncall@example.com", "lead@example.com"]
  rules:
    - {{ name: primary-failing, kind: consecutive_failures, target: m0, channels: [hook, slack], escalate_to: [oncall] }}
"#,
        hook = http.url("/hook"),
        slack = http.url("/slack"),
        port = smtp.port,
    ));
    let h = Harness::with_config(mocks, &yaml).await;
    h.mocks[0].control().set(failing(500));
    for _ in 0..4 {
        assert_eq!(h.chat("hi").await.status(), 200, "the secondary serves");
    }
    assert!(eventually(WAIT, || async { http.posts("/hook").len() == 1 }).await);

    let fired = &http.posts("/hook")[0];
    assert_signed(fired);
    assert_eq!(fired.header("x-steadfast-event"), "fired");
    let body = fired.json();
    assert_eq!(body["event"], "fired");
    assert_eq!(body["alert"]["id"], "primary-failing/m0");
    assert_eq!(body["alert"]["kind"], "consecutive_failures");
    assert_eq!(body["alert"]["subject"], "m0");
    assert!(
        body["alert"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("model m0: ")
    );
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING] primary-failing: model m0")
    );

    assert!(eventually(WAIT, || async { http.posts("/slack").len() == 1 }).await);
    let slack = http.posts("/slack")[0].json();
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("[FIRING] primary-failing")
    );
    assert_eq!(slack["blocks"][0]["type"], "header");
    assert_eq!(slack["blocks"][0]["text"]["type"], "plain_text");
    assert!(
        slack["blocks"][1]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("model m0")
    );
    assert!(
        http.posts("/slack")[0]
            .header("x-steadfast-signature")
            .is_empty()
    );

    // Escalation by email after 300ms, once; the first channels are not told again.
    assert!(eventually(WAIT, || async { smtp.mails().len() == 1 }).await);
    let mail = &smtp.mails()[0];
    assert!(
        mail["subject"]
            .as_str()
            .unwrap()
            .starts_with("[ESCALATED] primary-failing: model m0"),
        "{mail}"
    );
    assert_eq!(mail["mail_from"], "steadfast@example.com");
    assert_eq!(
        mail["rcpt_tos"],
        serde_json::json!(["oncall@example.com", "lead@example.com"])
    );
    let text = mail["body"].as_str().unwrap();
    assert!(
        text.contains("rule: primary-failing (consecutive_failures)"),
        "{text}"
    );
    assert!(text.contains("state: active, escalated"), "{text}");
    let active = alerts(&h).await;
    assert_eq!(active["active"][0]["id"], "primary-failing/m0");
    assert_eq!(active["active"][0]["escalated"], true);
    // Further ticks stay silent: the final counts below prove it.

    // Recovery: one success on the primary resolves the alert everywhere.
    h.mocks[0].control().set(Faults::default());
    let response = h.chat("hi").await;
    assert_eq!(
        crate::support::header(&response, "x-steadfast-target"),
        "m0"
    );
    assert!(
        eventually(WAIT, || async {
            http.posts("/hook").len() == 2 && smtp.mails().len() == 2
        })
        .await
    );
    assert!(eventually(WAIT, || async { http.posts("/slack").len() == 2 }).await);
    let hook = http.posts("/hook");
    assert_eq!(events(&hook), ["fired", "resolved"]);
    assert_signed(&hook[1]);
    assert!(
        http.posts("/slack")[1].json()["text"]
            .as_str()
            .unwrap()
            .contains("[RESOLVED]")
    );
    assert!(
        smtp.mails()[1]["subject"]
            .as_str()
            .unwrap()
            .starts_with("[RESOLVED] primary-failing")
    );
    assert_eq!(alerts(&h).await["active"], serde_json::json!([]));
    assert!(eventually(WAIT, || async { alerts(&h).await["delivery"]["sent"] == 6 }).await);

    let audit: Vec<(String, String)> = h
        .gateway
        .state()
        .audit
        .entries()
        .into_iter()
        .filter(|e| e.action.starts_with("alert_"))
        .map(|e| (e.action, e.target))
        .collect();
    let id = "primary-failing/m0".to_owned();
    assert_eq!(
        audit,
        [
            ("alert_fired".to_owned(), id.clone()),
            ("alert_escalated".to_owned(), id.clone()),
            ("alert_resolved".to_owned(), id)
        ]
    );
    let shown = format!("{active} {:?}", h.gateway.state().audit.entries());
    assert!(!shown.contains(HOOK_SECRET));
    h.gateway.shutdown().await;
}

#[tokio::test]
async fn a_failing_channel_is_retried_and_a_dead_one_does_not_stop_the_others() {
    let flaky = HttpReceiver::start(2).await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/gone", listener.local_addr().unwrap())
    };
    let mocks = mocks(&["primary", "secondary"]).await;
    let mut yaml = config_yaml(&mocks, "", "");
    yaml.push_str(&format!(
        r#"alerts:
  evaluate_every: 1h
  channels:
    dead: {{ kind: webhook, url: "{dead}" }}
    flaky: {{ kind: slack, webhook_url: "{flaky}" }}
  rules:
    - {{ name: tripped, kind: breaker_opened, channels: [dead, flaky] }}
"#,
        flaky = flaky.url("/slack"),
    ));
    let h = Harness::with_config(mocks, &yaml).await;
    // A manual trip is a breaker event: evaluated at once, not on the hourly tick.
    assert_eq!(h.admin_post("/admin/models/m1/trip").await.status(), 200);
    assert!(eventually(WAIT, || async { flaky.posts("/slack").len() == 1 }).await);
    assert!(
        flaky.posts("/slack")[0].json()["text"]
            .as_str()
            .unwrap()
            .contains("model m1: circuit breaker is open")
    );
    assert!(
        eventually(WAIT, || async {
            alerts(&h).await["delivery"]["failed"] == 1
        })
        .await
    );
    let board = alerts(&h).await;
    assert_eq!(board["active"][0]["id"], "tripped/m1");
    assert_eq!(board["delivery"]["sent"], 1);
    h.gateway.shutdown().await;
}

#[tokio::test]
async fn misconfigured_credentials_and_an_unavailable_route_raise_their_alerts() {
    let http = HttpReceiver::start(0).await;
    let mocks = mocks(&["primary", "secondary"]).await;
    let mut yaml = config_yaml(&mocks, "", "");
    yaml.push_str(&format!(
        r#"alerts:
  evaluate_every: 20ms
  channels:
    hook: {{ kind: webhook, url: "{hook}" }}
  rules:
    - {{ name: creds, kind: misconfigured, channels: [hook] }}
    - {{ name: stranded, kind: route_unavailable, route: chat, channels: [hook] }}
"#,
        hook = http.url("/hook"),
    ));
    let h = Harness::with_config(mocks, &yaml).await;
    h.mocks[0].control().set(failing(401));
    assert_eq!(h.chat("hi").await.status(), 200);
    assert!(eventually(WAIT, || async { http.posts("/hook").len() == 1 }).await);
    let creds = http.posts("/hook")[0].json();
    assert_eq!(creds["alert"]["id"], "creds/m0");
    assert!(
        creds["alert"]["summary"]
            .as_str()
            .unwrap()
            .contains("provider p0 refused the gateway's credentials")
    );

    assert_eq!(h.admin_post("/admin/models/m0/trip").await.status(), 200);
    assert_eq!(h.admin_post("/admin/models/m1/trip").await.status(), 200);
    assert!(eventually(WAIT, || async { http.posts("/hook").len() == 2 }).await);
    let stranded = http.posts("/hook")[1].json();
    assert_eq!(stranded["alert"]["id"], "stranded/chat");
    assert_eq!(
        stranded["alert"]["summary"],
        "route chat: every target is unavailable (m0, m1)"
    );
    assert_eq!(h.admin_post("/admin/models/m1/reset").await.status(), 200);
    assert!(eventually(WAIT, || async { http.posts("/hook").len() == 3 }).await);
    let resolved = http.posts("/hook")[2].json();
    assert_eq!(
        (resolved["event"].as_str(), resolved["alert"]["id"].as_str()),
        (Some("resolved"), Some("stranded/chat"))
    );
    h.gateway.shutdown().await;
}

#[test]
fn alert_settings_are_checked_with_key_paths() {
    let yaml = r#"
providers: { p: { kind: openai, base_url: "http://127.0.0.1:1/v1" } }
models: { m: { provider: p, model: x } }
routes: { chat: { targets: [m] } }
alerts:
  escalate_after: 0s
  channels:
    mail: { kind: email, host: smtp.example.com, from: "not an address", to: [] }
    hook: { kind: webhook, url: "ftp://example.com", secret: "${HOOK_SECRET}" }
  rules:
    - { name: a, kind: latency, target: nope, channels: [hook] }
    - { name: a, kind: breaker_opened, rate: 0.5, channels: [pager], escalate_to: [mail] }
    - { name: b, kind: failure_rate, target: m, route: chat, rate: 2, channels: [] }
"#;
    let lookup = |name: &str| (name == "HOOK_SECRET").then(|| "s3cret-value".to_owned());
    let error = config::parse(yaml, Path::new("alerts.yaml"), &lookup).unwrap_err();
    let problems: Vec<(String, String)> = error
        .problems
        .iter()
        .map(|p| (p.path.clone(), p.reason.clone()))
        .collect();
    let expected = [
        ("alerts.escalate_after", "must be greater than 0"),
        ("alerts.rules[0].target", "unknown model \"nope\""),
        (
            "alerts.rules[0].threshold",
            "a latency rule needs a threshold greater than 0, e.g. \"5s\"",
        ),
        ("alerts.rules[1].name", "rule \"a\" is defined twice"),
        (
            "alerts.rules[1].rate",
            "does not apply to kind breaker_opened",
        ),
        ("alerts.rules[1].channels[0]", "unknown channel \"pager\""),
        ("alerts.rules[2].route", "set target or route, not both"),
        ("alerts.rules[2].rate", "must be in (0, 1]"),
        ("alerts.rules[2].channels", "needs at least one channel"),
        (
            "alerts.channels.hook.url",
            "must be an http:// or https:// URL with a host",
        ),
        (
            "alerts.channels.mail.from",
            "not an email address: \"not an address\"",
        ),
        ("alerts.channels.mail.to", "needs at least one recipient"),
    ];
    for (path, reason) in expected {
        assert!(
            problems.contains(&(path.to_owned(), reason.to_owned())),
            "missing {path}: {reason} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    assert!(!error.to_string().contains("s3cret-value"));

    let unknown = "providers: {}\nmodels: {}\nroutes: {}\nalerts: { channels: { s: { kind: slack, webhook_url: \"http://x\", channel: \"#ops\" } } }\n";
    let error = config::parse(unknown, Path::new("a.yaml"), &|_| None).unwrap_err();
    assert!(
        error.to_string().contains("unknown field `channel`"),
        "{error}"
    );
}
