//! Client keys: unknown keys get 401, a client over its limit gets 429 with
//! `Retry-After`, and the limit is per client.

use serde_json::{Value, json};

use crate::support::{Harness, config_yaml, header, mocks};

const TEAM_A: &str = "key-team-a-0123456789";
const TEAM_B: &str = "key-team-b-0123456789";

async fn harness() -> Harness {
    let mocks = mocks(&["primary"]).await;
    let yaml = config_yaml(&mocks, "", "")
        + &format!(
            "clients:\n  team-a: {{ key: \"{TEAM_A}\", requests_per_minute: 2 }}\n  team-b: {{ key: \"{TEAM_B}\" }}\n"
        );
    Harness::with_config(mocks, &yaml).await
}

async fn chat_as(h: &Harness, key: Option<&str>) -> reqwest::Response {
    let mut request = h
        .client
        .post(h.url("/v1/chat/completions"))
        .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "x"}]}));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn unknown_or_missing_keys_are_401() {
    let h = harness().await;
    for key in [None, Some("key-team-c-0123456789")] {
        let response = chat_as(&h, key).await;
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_api_key");
    }
    assert_eq!(h.mocks[0].control().counts().requests, 0);
    assert_eq!(chat_as(&h, Some(TEAM_B)).await.status(), 200);
}

#[tokio::test]
async fn a_client_over_its_limit_gets_429_and_others_are_unaffected() {
    let h = harness().await;
    // 2 a minute with the default burst (5 s of the rate, at least one):
    // one at once, the next 30 s later — never a whole minute's worth at once.
    assert_eq!(chat_as(&h, Some(TEAM_A)).await.status(), 200);
    let limited = chat_as(&h, Some(TEAM_A)).await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = header(&limited, "retry-after").parse().unwrap();
    assert!((29..=31).contains(&retry_after), "{retry_after}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert!(!body.to_string().contains(TEAM_A), "the key is not echoed");
    for _ in 0..5 {
        assert_eq!(chat_as(&h, Some(TEAM_B)).await.status(), 200);
    }
}
