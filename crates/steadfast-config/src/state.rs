//! Checks of the `state` section: a Redis URL the client can connect to (or
//! a `redis+sentinel://` URL naming the Sentinels and the primary), a key
//! prefix and a timeout. No message quotes the URL, which may hold a
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

/// The port of a Sentinel given without one.
pub const SENTINEL_PORT: u16 = 26379;

/// A `redis+sentinel://[user:password@]host[:port][,host[:port]…]/primary[/db]`
/// URL (`rediss+sentinel://` for TLS to every node): the Sentinels to ask
/// where the primary named `primary` is, and how to reach that primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelUrl {
    /// TLS to the Sentinels and the primary.
    pub tls: bool,
    /// The primary's user and password, as written (percent-encoded).
    pub userinfo: Option<String>,
    /// Each Sentinel's `host:port`.
    pub sentinels: Vec<String>,
    /// The primary's name in the Sentinels' configuration.
    pub primary: String,
    /// The database number, when given.
    pub db: Option<u32>,
}

impl SentinelUrl {
    /// Reads `url`: `None` when it is not a Sentinel URL, else the URL or
    /// what is wrong with it (never quoting it).
    pub fn parse(url: &str) -> Option<Result<SentinelUrl, String>> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            (false, rest)
        } else {
            (true, url.strip_prefix("rediss+sentinel://")?)
        };
        Some(SentinelUrl::parse_rest(tls, rest))
    }

    fn parse_rest(tls: bool, rest: &str) -> Result<SentinelUrl, String> {
        let (userinfo, rest) = split_userinfo(rest);
        let (hosts, path) = rest.split_once('/').ok_or(
            "a Sentinel URL names the primary after the hosts: redis+sentinel://host:26379,host:26379/mymaster",
        )?;
        let sentinels = host_list(hosts, SENTINEL_PORT)?;
        let mut parts = path.trim_end_matches('/').split('/');
        let primary = parts.next().unwrap_or_default();
        if primary.is_empty() {
            return Err(
                "a Sentinel URL names the primary: redis+sentinel://host:26379/mymaster".into(),
            );
        }
        let db =
            match parts.next() {
                None => None,
                Some(db) => Some(db.parse::<u32>().map_err(|_| {
                    "the database after the primary's name is not a number".to_owned()
                })?),
            };
        if parts.next().is_some() {
            return Err("a Sentinel URL's path is /primary or /primary/db".into());
        }
        Ok(SentinelUrl {
            tls,
            userinfo,
            sentinels,
            primary: primary.to_owned(),
            db,
        })
    }
}

/// The port of a cluster node given without one.
pub const CLUSTER_PORT: u16 = 6379;

/// A `redis+cluster://[user:password@]host[:port][,host[:port]…]` URL
/// (`rediss+cluster://` for TLS): some nodes of a Redis Cluster, from which
/// the client learns the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterUrl {
    /// TLS to every node.
    pub tls: bool,
    /// The nodes' user and password, as written (percent-encoded).
    pub userinfo: Option<String>,
    /// Each seed node's `host:port`.
    pub nodes: Vec<String>,
}

impl ClusterUrl {
    /// Reads `url`: `None` when it is not a cluster URL, else the URL or
    /// what is wrong with it (never quoting it).
    pub fn parse(url: &str) -> Option<Result<ClusterUrl, String>> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("redis+cluster://") {
            (false, rest)
        } else {
            (true, url.strip_prefix("rediss+cluster://")?)
        };
        let (userinfo, rest) = split_userinfo(rest);
        let hosts = rest.trim_end_matches('/');
        if hosts.contains('/') {
            return Some(Err(
                "a cluster URL has no path: a cluster has one database".into()
            ));
        }
        Some(host_list(hosts, CLUSTER_PORT).map(|nodes| ClusterUrl {
            tls,
            userinfo,
            nodes,
        }))
    }
}

/// The user information before the last `@`, and the rest.
fn split_userinfo(rest: &str) -> (Option<String>, &str) {
    match rest.rsplit_once('@') {
        Some((userinfo, rest)) => (Some(userinfo.to_owned()), rest),
        None => (None, rest),
    }
}

/// `host[:port],host[:port]…` as `host:port` each.
fn host_list(hosts: &str, default_port: u16) -> Result<Vec<String>, String> {
    let mut list = Vec::new();
    for host in hosts.split(',') {
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) => (
                name,
                port.parse::<u16>()
                    .map_err(|_| "a host's port is not a number".to_owned())?,
            ),
            None => (host, default_port),
        };
        if name.is_empty() {
            return Err("a host is empty".into());
        }
        list.push(format!("{name}:{port}"));
    }
    Ok(list)
}

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
    let several = SentinelUrl::parse(url.expose())
        .map(|parsed| parsed.map(drop))
        .or_else(|| ClusterUrl::parse(url.expose()).map(|parsed| parsed.map(drop)));
    let usable = match several {
        Some(Ok(())) => true,
        Some(Err(why)) => {
            report("state.url".to_owned(), why);
            true
        }
        None => url::Url::parse(url.expose())
            .is_ok_and(|parsed| REDIS_SCHEMES.contains(&parsed.scheme())),
    };
    if !usable {
        report(
            "state.url".to_owned(),
            format!(
                "not a Redis URL: write redis://[user:password@]host:port[/db], rediss:// for TLS, redis+unix:///path, redis+sentinel://host:26379,host:26379/primary for Sentinel, or redis+cluster://host:6379,host:6379 for a cluster (schemes: {})",
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

    use super::{ClusterUrl, SentinelUrl};

    #[test]
    fn a_cluster_url_names_its_seed_nodes() {
        let url = ClusterUrl::parse("rediss+cluster://u:p@n1:7000,n2")
            .unwrap()
            .unwrap();
        assert_eq!(
            url,
            ClusterUrl {
                tls: true,
                userinfo: Some("u:p".into()),
                nodes: vec!["n1:7000".into(), "n2:6379".into()],
            }
        );
        assert!(ClusterUrl::parse("redis://n1").is_none());
        for bad in [
            "redis+cluster://n1/0",
            "redis+cluster://n1:x",
            "redis+cluster://,n2",
        ] {
            assert!(ClusterUrl::parse(bad).unwrap().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_sentinel_url_names_its_sentinels_and_primary() {
        let url =
            SentinelUrl::parse("redis+sentinel://:pw%40x@s1:26380,s2,10.0.0.3:5000/mymaster/2")
                .unwrap()
                .unwrap();
        assert_eq!(
            url,
            SentinelUrl {
                tls: false,
                userinfo: Some(":pw%40x".into()),
                sentinels: vec!["s1:26380".into(), "s2:26379".into(), "10.0.0.3:5000".into()],
                primary: "mymaster".into(),
                db: Some(2),
            }
        );
        assert!(
            SentinelUrl::parse("rediss+sentinel://s1/m")
                .unwrap()
                .unwrap()
                .tls
        );
        assert!(SentinelUrl::parse("redis://h:6379").is_none());
        for bad in [
            "redis+sentinel://s1:26379",
            "redis+sentinel://s1:26379/",
            "redis+sentinel://s1:port/m",
            "redis+sentinel://,s2/m",
            "redis+sentinel://s1/m/x",
        ] {
            assert!(SentinelUrl::parse(bad).unwrap().is_err(), "{bad}");
        }
    }

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
