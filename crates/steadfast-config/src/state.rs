//! Checks of the `state` section: a Redis URL the client can connect to, a
//! key prefix and a timeout. No message quotes the URL, which may hold a
//! password.

use crate::types::StateConfig;

/// URL schemes the `redis` crate connects to with a plain URL.
pub const REDIS_SCHEMES: [&str; 7] = [
    "redis",
    "rediss",
    "valkey",
    "valkeys",
    "redis+unix",
    "valkey+unix",
    "unix",
];

/// Reports every problem of `state` as (key path, reason).
pub(crate) fn problems(state: &StateConfig, report: &mut impl FnMut(String, String)) {
    let StateConfig::Redis {
        url,
        key_prefix,
        timeout,
        ..
    } = state
    else {
        return;
    };
    let usable =
        url::Url::parse(url.expose()).is_ok_and(|parsed| REDIS_SCHEMES.contains(&parsed.scheme()));
    if !usable {
        report(
            "state.url".to_owned(),
            format!(
                "not a Redis URL: write redis://[user:password@]host:port[/db], rediss:// for TLS, or redis+unix:///path (schemes: {})",
                REDIS_SCHEMES.join(", ")
            ),
        );
    }
    if key_prefix.is_empty() || key_prefix.contains(char::is_whitespace) {
        report(
            "state.key_prefix".to_owned(),
            "must be non-empty, without spaces".to_owned(),
        );
    }
    if timeout.0.is_zero() {
        report(
            "state.timeout".to_owned(),
            "must be greater than 0".to_owned(),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::{ConfigDuration, StateConfig};

    #[test]
    fn redis_state_reads_its_url_from_the_environment_and_never_prints_it() {
        let yaml = "providers: { p: { kind: openai, base_url: \"http://127.0.0.1:1/v1\" } }\n\
                    models: { m: { provider: p, model: x } }\n\
                    routes: { chat: { targets: [m] } }\n\
                    state: { backend: redis, url: \"${REDIS_URL}\" }\n";
        let env = |name: &str| {
            (name == "REDIS_URL").then(|| "rediss://fleet:hunter22@redis.internal:6380/1".into())
        };
        let config = crate::parse(yaml, Path::new("s.yaml"), &env).unwrap();
        let StateConfig::Redis {
            url,
            key_prefix,
            timeout,
            audit_max_len,
        } = &config.state
        else {
            panic!("not redis: {:?}", config.state);
        };
        assert_eq!(
            url.expose(),
            "rediss://fleet:hunter22@redis.internal:6380/1"
        );
        assert_eq!(
            (key_prefix.as_str(), *timeout, *audit_max_len),
            ("steadfast", ConfigDuration::millis(250), 10_000)
        );
        assert!(!format!("{:?}", config.state).contains("hunter22"));

        let bad = yaml.replace("${REDIS_URL}", "http://fleet:hunter22@x");
        let error = crate::parse(&bad, Path::new("s.yaml"), &env).unwrap_err();
        assert_eq!(error.problems[0].path, "state.url");
        assert!(!error.to_string().contains("hunter22"), "{error}");
    }
}
