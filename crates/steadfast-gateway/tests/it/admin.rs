//! The admin API and hot reload, end to end.

use std::time::Duration;

use serde_json::Value;
use steadfast_mock::{Faults, Mode};

use crate::support::{ADMIN_TOKEN, Harness, config_yaml, eventually, header};

#[tokio::test]
async fn admin_needs_the_bearer_token() {
    let h = Harness::start(&["primary"], "", "").await;
    let anonymous = h
        .client
        .post(h.url("/admin/models/m0/trip"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = h
        .client
        .post(h.url("/admin/models/m0/trip"))
        .bearer_auth("admin-token-for-testz")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(h.target("m0").await["breaker"], "closed");
    let audit = h.client.get(h.url("/admin/audit")).send().await.unwrap();
    assert_eq!(audit.status(), 401);
}

#[tokio::test]
async fn admin_is_off_without_a_token() {
    let mocks = crate::support::mocks(&["primary"]).await;
    let yaml =
        config_yaml(&mocks, "", "").replace(&format!("  admin_token: \"{ADMIN_TOKEN}\"\n"), "");
    let h = Harness::with_config(mocks, &yaml).await;
    let response = h.admin_post("/admin/models/m0/trip").await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "admin_disabled");
}

#[tokio::test]
async fn trip_and_reset_take_a_model_out_and_back_and_are_audited() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    let tripped = h.admin_post("/admin/models/m0/trip").await;
    assert_eq!(tripped.status(), 200);
    let body: Value = tripped.json().await.unwrap();
    assert_eq!(body["breaker"], "forced_open");
    let response = h.chat("x").await;
    assert_eq!(header(&response, "x-steadfast-target"), "m1");
    assert_eq!(h.mocks[0].control().counts().requests, 0);
    let reset = h.admin_post("/admin/models/m0/reset").await;
    assert_eq!(reset.status(), 200);
    assert_eq!(header(&h.chat("x").await, "x-steadfast-target"), "m0");
    let unknown = h.admin_post("/admin/models/nope/trip").await;
    assert_eq!(unknown.status(), 404);

    let audit = h.admin_get("/admin/audit").await;
    let actions: Vec<(String, String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap().to_owned(),
                e["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("trip".into(), "m0".into(), "ok".into()),
            ("reset".into(), "m0".into(), "ok".into()),
            ("trip".into(), "nope".into(), "error".into())
        ]
    );
    assert!(audit["entries"][0]["time"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_valid_reload_applies_to_new_requests_and_keeps_unchanged_state() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.admin_post("/admin/models/m0/trip").await;
    // Add a route; models unchanged.
    let yaml = std::fs::read_to_string(&h.config_path).unwrap() + "  backup:\n    targets: [m1]\n";
    std::fs::write(&h.config_path, yaml).unwrap();
    let reloaded = h.admin_post("/admin/reload").await;
    assert_eq!(reloaded.status(), 200, "{}", reloaded.text().await.unwrap());
    let models: Value = h
        .client
        .get(h.url("/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["backup", "chat"]);
    assert_eq!(
        h.target("m0").await["breaker"],
        "forced_open",
        "unchanged models keep their state"
    );
}

#[tokio::test]
async fn a_reload_says_which_changes_wait_for_a_restart() {
    let h = Harness::start(&["primary"], "", "").await;
    let yaml = std::fs::read_to_string(&h.config_path).unwrap().replace(
        "  listen: \"127.0.0.1:0\"\n",
        "  listen: \"127.0.0.1:9\"\n  threads: 1\n",
    );
    std::fs::write(&h.config_path, yaml).unwrap();
    let reloaded = h.admin_post("/admin/reload").await;
    assert_eq!(reloaded.status(), 200);
    let body: Value = reloaded.json().await.unwrap();
    assert!(
        body["summary"]
            .as_str()
            .unwrap()
            .contains("\n  at the next restart: server.listen, server.threads\n"),
        "{body}"
    );
    assert_eq!(
        h.chat("still here").await.status(),
        200,
        "served where it was"
    );
    let audit = h.admin_get("/admin/audit").await;
    assert!(
        audit
            .to_string()
            .contains("at the next restart: server.listen"),
        "{audit}"
    );
}

#[tokio::test]
async fn an_invalid_reload_is_refused_and_the_old_config_keeps_serving() {
    let h = Harness::start(&["primary"], "", "").await;
    let broken = std::fs::read_to_string(&h.config_path)
        .unwrap()
        .replace("targets: [m0]", "targets: [m0, gpt-5x]");
    std::fs::write(&h.config_path, broken).unwrap();
    let refused = h.admin_post("/admin/reload").await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_config");
    assert_eq!(
        body["error"]["problems"][0]["path"],
        "routes.chat.targets[1]"
    );
    assert!(
        body["error"]["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("unknown model \"gpt-5x\"")
    );
    assert_eq!(h.chat("still there?").await.status(), 200);
    let entries = h.gateway.state().audit.entries();
    let last = entries.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.result.as_str()),
        ("reload", "refused")
    );
}

#[tokio::test]
async fn reload_under_traffic_drops_no_request() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    h.mocks[0].control().set(Faults {
        latency_ms: 30,
        ..Faults::default()
    });
    let client = h.client.clone();
    let url = h.url("/v1/chat/completions");
    let traffic = tokio::spawn(async move {
        let mut statuses = Vec::new();
        for _ in 0..40 {
            let response = client
                .post(&url)
                .json(&serde_json::json!({"model": "chat", "messages": [{"role": "user", "content": "x"}]}))
                .send()
                .await
                .unwrap();
            statuses.push(response.status().as_u16());
        }
        statuses
    });
    for round in 0..5 {
        let yaml = std::fs::read_to_string(&h.config_path).unwrap();
        let yaml = if round % 2 == 0 {
            yaml.replace("targets: [m0, m1]", "targets: [m1, m0]")
        } else {
            yaml.replace("targets: [m1, m0]", "targets: [m0, m1]")
        };
        std::fs::write(&h.config_path, yaml).unwrap();
        let served = requests_seen(&h);
        assert_eq!(h.admin_post("/admin/reload").await.status(), 200);
        // Traffic goes on across the reload before the next one.
        assert!(
            eventually(Duration::from_secs(5), || async {
                requests_seen(&h) > served || traffic.is_finished()
            })
            .await
        );
    }
    let statuses = traffic.await.unwrap();
    assert_eq!(statuses, vec![200; 40]);
}

#[tokio::test]
async fn a_change_of_the_file_reloads_by_itself() {
    let h = Harness::start(&["primary", "secondary"], "", "").await;
    let yaml = std::fs::read_to_string(&h.config_path)
        .unwrap()
        .replace("targets: [m0, m1]", "targets: [m1]");
    std::fs::write(&h.config_path, yaml).unwrap();
    let switched = eventually(Duration::from_secs(5), || async {
        header(&h.chat("x").await, "x-steadfast-target") == "m1"
    })
    .await;
    assert!(
        switched,
        "the file change was not picked up: {:?}",
        h.gateway.state().audit.entries()
    );
    let entries = h.gateway.state().audit.entries();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "reload" && e.detail.starts_with("file change"))
    );
    h.mocks[0].control().set_mode(Mode::Ok);
}

/// Requests the providers of `h` have received so far.
fn requests_seen(h: &Harness) -> u64 {
    h.mocks.iter().map(|m| m.control().counts().requests).sum()
}
