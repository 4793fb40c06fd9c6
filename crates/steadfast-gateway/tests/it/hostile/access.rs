//! Who may reach what: the operations surface closed on a public listener
//! left unprotected, behind `ops_token` (with a dashboard session), or on a
//! listener of its own; `/v1/models` behind client keys; refused admin
//! calls that write nothing the caller chose.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use super::{Binary, LOOPBACK, OPS_PORT, PUBLIC, config};
use crate::support::{ADMIN_TOKEN, mocks};

const OPS_TOKEN: &str = "ops-token-for-tests-7f3a9c";
const OPS_PATHS: [&str; 6] = [
    "/api/status",
    "/api/history",
    "/api/report",
    "/metrics",
    "/ready",
    "/dashboard",
];

fn chat() -> Value {
    json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]})
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_public_listener_without_protection_serves_the_model_api_and_health_only() {
    let mocks = mocks(&["primary"]).await;
    let gateway = Binary::start(&config(&mocks, PUBLIC, "", "", "")).await;
    let client = reqwest::Client::new();
    for path in OPS_PATHS.iter().chain(&["/api/events"]) {
        let response = client.get(gateway.at(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "ops_surface_closed", "{path}");
    }
    let health = client.get(gateway.at("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let answer = client
        .post(gateway.at("/v1/chat/completions"))
        .json(&chat())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        gateway
            .logs()
            .contains("serves the model API and /health only"),
        "{}",
        gateway.logs()
    );
}

#[tokio::test]
async fn the_ops_token_guards_the_surface_and_the_dashboard_keeps_a_browser_session() {
    let mocks = mocks(&["primary"]).await;
    let server = format!("ops_token: \"{OPS_TOKEN}\"");
    let gateway = Binary::start(&config(&mocks, PUBLIC, &server, "", "")).await;
    let client = no_redirects();
    for path in OPS_PATHS {
        let refused = client.get(gateway.at(path)).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{path}");
        let wrong = client
            .get(gateway.at(path))
            .bearer_auth("ops-token-for-tests-7f3a9X")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{path}");
        let allowed = client
            .get(gateway.at(path))
            .bearer_auth(OPS_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(allowed.status(), StatusCode::OK, "{path}");
    }
    let refused = client.get(gateway.at("/api/status")).send().await.unwrap();
    assert_eq!(
        refused.headers()[WWW_AUTHENTICATE],
        "Bearer realm=\"steadfast-ops\""
    );

    // The dashboard without a session: its sign-in form, not the page.
    let page = client.get(gateway.at("/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    let html = page.text().await.unwrap();
    assert!(html.contains("action=\"/dashboard/login\""), "{html}");
    let wrong = client
        .post(gateway.at("/dashboard/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=not-the-token-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("not the operations token")
    );

    let signed_in = client
        .post(gateway.at("/dashboard/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={OPS_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()[LOCATION], "/dashboard");
    let cookie = signed_in.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(OPS_TOKEN),
        "the cookie holds the token: {cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();

    // What the page loads, with the session cookie only (as a browser sends it).
    let page = client
        .get(gateway.at("/dashboard"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("EventSource"));
    for path in ["/api/status", "/api/history"] {
        let loaded = client
            .get(gateway.at(path))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(loaded.status(), StatusCode::OK, "{path}");
    }
    let events = client
        .get(gateway.at("/api/events"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    assert!(!gateway.logs().contains(OPS_TOKEN), "the token was logged");
}

#[tokio::test]
async fn an_operations_listener_takes_the_surface_and_the_admin_api_off_the_main_port() {
    let mocks = mocks(&["primary"]).await;
    let server = format!("ops_listen: \"127.0.0.1:{OPS_PORT}\"\nadmin_token: \"{ADMIN_TOKEN}\"");
    let gateway = Binary::start(&config(&mocks, LOOPBACK, &server, "", "")).await;
    let ops = gateway.ops_url.clone().unwrap();
    let client = reqwest::Client::new();
    for path in OPS_PATHS {
        let main = client.get(gateway.at(path)).send().await.unwrap();
        assert_eq!(
            main.status(),
            StatusCode::NOT_FOUND,
            "{path} on the main port"
        );
        let there = client.get(format!("{ops}{path}")).send().await.unwrap();
        assert_eq!(there.status(), StatusCode::OK, "{path} on the ops port");
    }
    let reload = client
        .post(gateway.at("/admin/reload"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), StatusCode::NOT_FOUND);
    let reload = client
        .post(format!("{ops}/admin/reload"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), StatusCode::OK);
    let answer = client
        .post(gateway.at("/v1/chat/completions"))
        .json(&chat())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let not_here = client
        .post(format!("{ops}/v1/chat/completions"))
        .json(&chat())
        .send()
        .await
        .unwrap();
    assert_eq!(not_here.status(), StatusCode::NOT_FOUND);
    for health in [gateway.at("/health"), format!("{ops}/health")] {
        let health = client.get(health).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn a_closed_public_listener_closes_the_admin_api_and_a_slow_sign_in_too() {
    let mocks = mocks(&["primary"]).await;
    let server = format!("admin_token: \"{ADMIN_TOKEN}\"");
    let gateway = Binary::start(&config(&mocks, PUBLIC, &server, "", "")).await;
    let client = reqwest::Client::new();
    let admin = client
        .post(gateway.at("/admin/reload"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::FORBIDDEN);
    let body: Value = admin.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ops_surface_closed");

    let tokened = format!("ops_token: \"{OPS_TOKEN}\"\nclient_timeout: 1s");
    let gateway = Binary::start(&config(&mocks, LOOPBACK, &tokened, "", "")).await;
    // A sign-in form that never finishes arriving is cut at client_timeout.
    let mut socket = gateway.connect().await;
    socket
        .write_all(b"POST /dashboard/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\ntoken=")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "a slow sign-in form held its connection");
    assert!(started.elapsed() >= Duration::from_millis(900));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_loopback_surface_without_a_token_answers_only_requests_for_localhost() {
    let mocks = mocks(&["primary"]).await;
    let gateway = Binary::start(&config(&mocks, LOOPBACK, "", "", "")).await;
    let client = reqwest::Client::new();
    for host in [
        "localhost",
        "127.0.0.1",
        "[::1]:8080",
        "dashboard.localhost",
    ] {
        let answer = client
            .get(gateway.at("/api/status"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{host}");
    }
    // A page that rebound its own name to 127.0.0.1 gets nothing.
    let rebound = client
        .get(gateway.at("/api/status"))
        .header("host", "attacker.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    let body: Value = rebound.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ops_surface_local");
    let answer = client
        .post(gateway.at("/v1/chat/completions"))
        .header("host", "attacker.example.com")
        .json(&chat())
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        StatusCode::OK,
        "the model API is not the operations surface"
    );
}

#[tokio::test]
async fn the_model_list_follows_the_client_key_rule() {
    let mocks = mocks(&["primary"]).await;
    let mut yaml = config(&mocks, LOOPBACK, "", "", "");
    yaml.push_str("clients:\n  team-a: { key: \"sk-team-a-0123456789\" }\n");
    let gateway = Binary::start(&yaml).await;
    let client = reqwest::Client::new();
    let anonymous = client.get(gateway.at("/v1/models")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = client
        .get(gateway.at("/v1/models"))
        .bearer_auth("sk-team-a-012345678")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let known = client
        .get(gateway.at("/v1/models"))
        .header("x-api-key", "sk-team-a-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(known.status(), StatusCode::OK);
    let list: Value = known.json().await.unwrap();
    assert_eq!(list["data"][0]["id"], "chat");
}

#[tokio::test]
async fn refused_admin_calls_write_no_audit_entry_and_a_bounded_log() {
    let mocks = mocks(&["primary"]).await;
    let server = format!("admin_token: \"{ADMIN_TOKEN}\"");
    let gateway = Binary::start(&config(&mocks, LOOPBACK, &server, "", "")).await;
    let client = reqwest::Client::new();
    let started = tokio::time::Instant::now();
    for i in 0..300 {
        let name = format!("INJECTED-{i}-{}", "x".repeat(i % 50));
        let refused = client
            .post(gateway.at(&format!("/admin/models/{name}/trip")))
            .bearer_auth("wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let seconds = started.elapsed().as_secs() + 1;
    let too_long = "n".repeat(4000);
    let rejected = client
        .post(gateway.at(&format!("/admin/models/{too_long}/reset")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), StatusCode::BAD_REQUEST);
    let body: Value = rejected.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_model_name");

    let audit: Value = client
        .get(gateway.at("/admin/audit"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["entries"], json!([]), "refusals were audited");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let logs = gateway.logs();
    assert!(
        !logs.contains("INJECTED"),
        "the caller's text reached the log"
    );
    assert!(!logs.contains(&too_long[..200]));
    let lines = logs.matches("refused a call without a valid token").count() as u64;
    assert!(
        (1..=seconds + 1).contains(&lines),
        "{lines} refusal lines in {seconds} s"
    );
    let refusals = gateway
        .metric("steadfast_auth_refusals_total{surface=\"admin\"} ")
        .await;
    assert_eq!(refusals, 300.0);
}

#[tokio::test]
async fn the_audit_file_is_rotated_within_its_bound() {
    let mocks = mocks(&["primary"]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let server = format!(
        "admin_token: \"{ADMIN_TOKEN}\"\naudit_log: \"{}\"\naudit_log_max_bytes: 4096\naudit_log_files: 2",
        file.display()
    );
    let gateway = Binary::start(&config(&mocks, LOOPBACK, &server, "", "")).await;
    let client = reqwest::Client::new();
    for i in 0..120 {
        let action = if i % 2 == 0 { "trip" } else { "reset" };
        let done = client
            .post(gateway.at(&format!("/admin/models/m0/{action}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::OK);
    }
    let rotated = |n: u32| dir.path().join(format!("audit.jsonl.{n}"));
    let written =
        crate::support::eventually(Duration::from_secs(5), || async { rotated(2).exists() }).await;
    assert!(written, "the audit file was not rotated");
    assert!(
        !rotated(3).exists(),
        "more rotated files kept than configured"
    );
    for path in [file.clone(), rotated(1), rotated(2)] {
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 4096, "{}: {size} bytes", path.display());
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let entry: Value = serde_json::from_str(line).unwrap();
            assert_eq!(entry["target"], "m0");
        }
    }
}
