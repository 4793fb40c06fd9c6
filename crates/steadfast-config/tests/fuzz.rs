//! Property tests of the config loader: whatever text a file holds (any
//! bytes, any YAML or JSON, a good config with any part replaced by any
//! value), loading it never panics, and a refusal names the file and, for a
//! value of the wrong kind, the key's path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use proptest::prelude::*;
use serde_yaml_ng::{Mapping, Value};

const FILE: &str = "fuzzed.yaml";

/// A valid config touching most sections.
const GOOD: &str = r#"
server: { listen: "127.0.0.1:8080", admin_token: "${ADMIN}", ops_token: "ops-token-0123456789", max_body_bytes: 65536 }
providers:
  openai: { kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: "${KEY}" }
  claude: { kind: anthropic, base_url: "http://127.0.0.1:9" }
  aws: { kind: bedrock, region: us-east-1, access_key_id: "AKIA0000", secret_access_key: "s" }
models:
  gpt:
    provider: openai
    model: gpt-4o-mini
    timeout: 30s
    circuit_breaker: { failure_rate: 0.5, min_calls: 10, window: 60s, open_for: 30s }
    health_check: { interval: 30s, timeout: 5s, retries: 3 }
    rate_limit: { requests_per_minute: 500 }
    max_concurrency: 8
  sonnet: { provider: claude, model: claude-sonnet-4-5 }
  nova: { provider: aws, model: amazon.nova-lite-v1:0 }
routes:
  chat:
    targets: [gpt, sonnet, nova]
    retry: { max_attempts: 2, initial_backoff: 200ms, max_backoff: 5s, jitter: full, budget: 0.2 }
  vote: { strategy: quorum, quorum: 2, targets: [gpt, sonnet] }
  fast: { strategy: hedged, hedge_after: p95, targets: [gpt, sonnet] }
clients:
  team: { key: "sk-team-0123456789", requests_per_minute: 60, max_concurrent_requests: 4 }
alerts:
  channels:
    ops: { kind: webhook, url: "http://127.0.0.1:9/hook" }
  rules:
    - { name: down, kind: route_unavailable, channels: [ops] }
state: { backend: memory }
"#;

fn lookup(name: &str) -> Option<String> {
    match name {
        "ADMIN" => Some("admin-token".into()),
        "KEY" => Some("sk-test-key".into()),
        _ => None,
    }
}

fn load(text: &str) -> Result<steadfast_config::Config, steadfast_config::ConfigError> {
    steadfast_config::parse(text, Path::new(FILE), &lookup)
}

/// Any YAML value, small.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_map(|f| Value::Number(f.into())),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("30s"),
            Just("-1s"),
            Just("1e400"),
            Just("${UNSET}"),
            Just("$$"),
            Just("openai"),
            Just("gpt"),
            Just("0.0.0.0:0"),
            Just("http://"),
            Just("p101"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Sequence),
            prop::collection::vec(("[a-z_]{1,12}", inner), 0..4).prop_map(|pairs| {
                Value::Mapping(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (Value::String(k), v))
                        .collect::<Mapping>(),
                )
            }),
        ]
    })
}

/// Every path to a value inside `value`, as keys and indexes.
fn paths(value: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                prefix.push(key.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Sequence(items) => {
            for (index, child) in items.iter().enumerate() {
                prefix.push(Value::Number(index.into()));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn replace(value: &mut Value, path: &[Value], with: Value) {
    let Some((first, rest)) = path.split_first() else {
        *value = with;
        return;
    };
    let child = match (value, first) {
        (Value::Mapping(map), key) => map.get_mut(key),
        (Value::Sequence(items), Value::Number(n)) => {
            n.as_u64().and_then(|i| items.get_mut(i as usize))
        }
        _ => None,
    };
    if let Some(child) = child {
        replace(child, rest, with);
    }
}

#[test]
fn the_good_config_loads() {
    load(GOOD).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_is_loaded_or_refused_naming_the_file(text in "(?s).{0,400}") {
        if let Err(error) = load(&text) {
            prop_assert!(error.to_string().starts_with(FILE), "{error}");
        }
    }

    #[test]
    fn any_yaml_is_loaded_or_refused_naming_the_file(value in value()) {
        let text = serde_yaml_ng::to_string(&value).unwrap();
        if let Err(error) = load(&text) {
            prop_assert!(error.to_string().starts_with(FILE), "{error}");
        }
    }

    #[test]
    fn a_good_config_with_any_part_replaced_is_loaded_or_refused_with_its_path(
        pick in any::<prop::sample::Index>(),
        with in value(),
        as_json in any::<bool>(),
    ) {
        let mut config: Value = serde_yaml_ng::from_str(GOOD).unwrap();
        let mut all = Vec::new();
        paths(&config, &mut Vec::new(), &mut all);
        let path = pick.get(&all).clone();
        replace(&mut config, &path, with);
        let text = if as_json {
            serde_json::to_string(&config).unwrap_or_default()
        } else {
            serde_yaml_ng::to_string(&config).unwrap()
        };
        match load(&text) {
            Ok(_) => {}
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.starts_with(FILE), "{message}");
                prop_assert!(!error.problems.is_empty());
                // A value the YAML reader refuses (a raw control character
                // that JSON allows) is a problem of the file, told with its position.
                let unreadable = message.contains("not valid YAML or JSON");
                if !path.is_empty() && !unreadable {
                    prop_assert!(
                        error.problems.iter().any(|p| !p.path.is_empty()),
                        "no key named in {message}"
                    );
                }
                for problem in &error.problems {
                    prop_assert!(!problem.reason.is_empty(), "{message}");
                    prop_assert!(!problem.reason.contains("sk-test-key"), "a secret in {message}");
                }
            }
        }
    }
}
