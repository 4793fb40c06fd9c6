//! A fleet of three in-process gateways sharing one real Redis, for the
//! shared-state tests.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use steadfast_config as config;
use steadfast_mock::MockServer;
use steadfast_server::Gateway;
use tempfile::TempDir;

use super::redis_server::RedisServer;
use super::{ADMIN_TOKEN, eventually};

/// Three gateways over the same mocks and the same Redis.
pub struct Fleet {
    pub redis: RedisServer,
    pub mocks: Vec<MockServer>,
    pub gateways: Vec<Gateway>,
    pub client: reqwest::Client,
    _dir: TempDir,
}

impl Fleet {
    /// `extra` is appended to the config (top-level sections).
    pub async fn start(names: &[&str], model_extra: &str, route_extra: &str, extra: &str) -> Fleet {
        let redis = RedisServer::start().await;
        let url = redis.url();
        Fleet::start_at(redis, &url, names, model_extra, route_extra, extra).await
    }

    /// A fleet that reaches `redis` at `url` (an address in front of it).
    pub async fn start_at(
        redis: RedisServer,
        url: &str,
        names: &[&str],
        model_extra: &str,
        route_extra: &str,
        extra: &str,
    ) -> Fleet {
        let mocks = super::mocks(names).await;
        let mut yaml = super::config_yaml(&mocks, model_extra, route_extra);
        yaml.push_str(&format!(
            "state: {{ backend: redis, url: \"{url}\", key_prefix: fleet-test }}\n{extra}"
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steadfast.yaml");
        std::fs::write(&path, yaml).unwrap();
        let loaded = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut gateways = Vec::new();
        for _ in 0..3 {
            gateways.push(Gateway::start_with(loaded.clone(), &path).await.unwrap());
        }
        let fleet = Fleet {
            redis,
            mocks,
            gateways,
            client: reqwest::Client::new(),
            _dir: dir,
        };
        assert!(
            eventually(Duration::from_secs(10), || async { fleet.connected(true) }).await,
            "the fleet did not connect to Redis"
        );
        fleet
    }

    /// Whether every instance's shared state is (or is not) connected.
    pub fn connected(&self, up: bool) -> bool {
        self.gateways
            .iter()
            .all(|g| g.state().shared.is_connected() == up)
    }

    pub fn url(&self, instance: usize, path: &str) -> String {
        format!("http://{}{path}", self.gateways[instance].addr())
    }

    pub async fn chat(&self, instance: usize, key: Option<&str>) -> reqwest::Response {
        let mut request = self.client.post(self.url(instance, "/v1/chat/completions"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request
            .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap()
    }

    pub async fn admin(&self, instance: usize, path: &str) -> reqwest::Response {
        self.client
            .post(self.url(instance, path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// Model `model`'s breaker state on every instance.
    pub fn breakers(&self, model: &str) -> Vec<&'static str> {
        self.gateways
            .iter()
            .map(|g| {
                g.state().runtime().targets[model]
                    .breaker()
                    .state()
                    .as_str()
            })
            .collect()
    }

    /// Polls until model `model`'s breaker is `state` on every instance.
    pub async fn all_breakers(&self, model: &str, state: &str, within: Duration) -> bool {
        eventually(within, || async {
            self.breakers(model).iter().all(|s| *s == state)
        })
        .await
    }

    /// Sends `per_instance` chats to each instance, `concurrency` at a time
    /// per instance; returns the statuses.
    pub async fn load(self: &Arc<Self>, per_instance: usize, key: Option<&str>) -> Vec<u16> {
        let mut tasks = tokio::task::JoinSet::new();
        for instance in 0..3 {
            for worker in 0..8 {
                let fleet = Arc::clone(self);
                let key = key.map(str::to_owned);
                tasks.spawn(async move {
                    let mut statuses = Vec::new();
                    for _ in (worker..per_instance).step_by(8) {
                        let response = fleet.chat(instance, key.as_deref()).await;
                        statuses.push(response.status().as_u16());
                    }
                    statuses
                });
            }
        }
        let mut statuses = Vec::new();
        while let Some(done) = tasks.join_next().await {
            statuses.extend(done.unwrap());
        }
        statuses
    }
}

/// (action, instance) of every entry of the fleet's audit stream.
pub async fn audit_entries(redis: &mut redis::aio::MultiplexedConnection) -> Vec<(String, String)> {
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg("fleet-test:audit")
        .arg("-")
        .arg("+")
        .query_async(redis)
        .await
        .unwrap();
    reply
        .ids
        .iter()
        .map(|id| {
            let field = |name: &str| id.get::<String>(name).unwrap_or_default();
            (field("action"), field("instance"))
        })
        .collect()
}

/// "mean …, p50 …, p99 …" of `samples`, in µs.
pub fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = samples.iter().map(|d| micros(*d)).sum::<f64>() / samples.len() as f64;
    let at = |q: f64| micros(samples[((samples.len() - 1) as f64 * q) as usize]);
    format!(
        "mean {mean:.1} µs, p50 {:.1} µs, p99 {:.1} µs",
        at(0.5),
        at(0.99)
    )
}
