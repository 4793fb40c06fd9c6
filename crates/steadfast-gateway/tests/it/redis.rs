//! A fleet of three gateways (in process) sharing one real Redis: breaker
//! transitions reach every instance, rate limits hold for the fleet, health
//! probes are not multiplied, and a Redis outage fails no request. Also:
//! `rediss://` with a password, verified against the trusted roots.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use steadfast::breaker::State;
use steadfast::events::Event;
use steadfast_mock::Mode;
use tokio::time::Instant;

use crate::support::fleet::{Fleet, audit_entries, summary};
use crate::support::forward::Forwarder;
use crate::support::redis_server::{RedisServer, SentinelServer, TLS_PASSWORD};
use crate::support::{ServeProcess, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_opening_on_one_instance_opens_everywhere_and_a_probe_closes_it_everywhere() {
    let fleet = Fleet::start(
        &["a", "b"],
        "circuit_breaker: { consecutive_failures: 2, open_for: 500ms, half_open_calls: 1 }",
        "retry: { max_attempts: 1 }",
        "",
    )
    .await;
    // When each instance's m0 breaker opens, seen on its own events bus.
    let opened: Vec<_> = fleet
        .gateways
        .iter()
        .map(|gateway| {
            let mut events = gateway.state().proxy.events().subscribe();
            tokio::spawn(async move {
                loop {
                    if let Ok(Event::BreakerStateChanged { name, to, .. }) = events.recv().await {
                        if &*name == "m0" && to == State::Open {
                            return Instant::now();
                        }
                    }
                }
            })
        })
        .collect();
    fleet.mocks[0].control().set_mode(Mode::Error);
    for _ in 0..2 {
        assert_eq!(fleet.chat(0, None).await.status(), 200, "m1 answers");
    }
    assert_eq!(
        fleet.breakers("m0")[0],
        "open",
        "instance 0 judged m0 itself"
    );
    let mut at = Vec::new();
    for instance in opened {
        let when = tokio::time::timeout(Duration::from_secs(1), instance).await;
        at.push(
            when.expect("m0 did not open on every instance within 1 s")
                .unwrap(),
        );
    }
    let spread = at.iter().max().unwrap().duration_since(at[0]);
    println!("m0 open on all three instances {spread:?} after it opened on the first");
    assert!(spread < Duration::from_secs(1));
    assert_eq!(fleet.breakers("m0"), ["open", "open", "open"]);
    let trips: Vec<u64> = fleet
        .gateways
        .iter()
        .map(|g| g.state().runtime().targets["m0"].breaker().stats().trips)
        .collect();
    assert_eq!(trips, [1, 0, 0], "remote opens are not local trips");

    fleet.mocks[0].control().set_mode(Mode::Ok);
    let probed = eventually(Duration::from_secs(3), || async {
        fleet.chat(0, None).await;
        fleet.breakers("m0")[0] == "closed"
    })
    .await;
    assert!(probed, "instance 0's half-open probe did not close m0");
    assert!(
        fleet
            .all_breakers("m0", "closed", Duration::from_secs(1))
            .await,
        "m0 did not close fleet-wide: {:?}",
        fleet.breakers("m0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_trip_and_reset_apply_fleet_wide_and_are_audited_in_one_stream() {
    let fleet = Fleet::start(&["a", "b"], "", "", "").await;
    assert_eq!(fleet.admin(1, "/admin/models/m0/trip").await.status(), 200);
    assert!(
        fleet
            .all_breakers("m0", "forced_open", Duration::from_secs(1))
            .await
    );
    let response = fleet.chat(0, None).await;
    assert_eq!(
        crate::support::header(&response, "x-steadfast-target"),
        "m1"
    );
    assert_eq!(fleet.admin(2, "/admin/models/m0/reset").await.status(), 200);
    assert!(
        fleet
            .all_breakers("m0", "closed", Duration::from_secs(1))
            .await
    );

    let redis = fleet.redis.connection().await;
    let written = eventually(Duration::from_secs(2), || {
        let mut redis = redis.clone();
        async move { audit_entries(&mut redis).await.len() >= 2 }
    })
    .await;
    let entries = audit_entries(&mut redis.clone()).await;
    assert!(written, "audit stream: {entries:?}");
    assert_eq!(entries[0].0, "trip");
    assert_eq!(entries[1].0, "reset");
    assert_ne!(entries[0].1, entries[1].1, "written by two instances");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_rate_limit_holds_for_the_fleet_and_its_round_trip_is_measured() {
    let fleet = Arc::new(
        Fleet::start(
            &["a", "b"],
            "rate_limit: { requests_per_minute: 300, tokens_per_minute: 10000000 }",
            "",
            "",
        )
        .await,
    );
    let started = Instant::now();
    let statuses = fleet.load(200, None).await;
    let elapsed = started.elapsed();
    // Both models hold the limit: past their bursts, what neither may take
    // is refused (503, every target at its limit).
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    let served = statuses.iter().filter(|s| **s == 200).count() as u64;
    let sent = fleet.mocks[0].control().counts().requests;
    assert_eq!(served, sent + fleet.mocks[1].control().counts().requests);
    // The default burst (5 s of the rate: 25), then 5 a second.
    let allowed = 25.0 + 5.0 * elapsed.as_secs_f64();
    println!("m0 sent {sent} of 600 in {elapsed:?}; the fleet allows {allowed:.1}");
    assert!(
        (sent as f64) <= allowed + 1.0 && sent >= 25,
        "m0 got {sent}, the fleet allows {allowed:.1}"
    );

    // Every check and every token correction is one EVALSHA: the scripts
    // were loaded when the link connected, never sent whole again.
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut fleet.redis.connection().await)
        .await
        .unwrap();
    let calls = |command: &str| {
        stats
            .lines()
            .find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls=")))
            .map_or(0, |rest| {
                rest.split(',').next().unwrap().parse::<u64>().unwrap()
            })
    };
    assert_eq!(calls("eval"), 0, "{stats}");
    assert!(calls("evalsha") >= 600, "{stats}");

    // The added latency: one Redis round trip per check.
    let target = Arc::clone(&fleet.gateways[1].state().runtime().targets["m0"]);
    let limit = target.rate_limit().unwrap();
    let mut shared = Vec::new();
    for _ in 0..2000 {
        let at = Instant::now();
        let _ = limit.check(1).await;
        shared.push(at.elapsed());
    }
    let mut local = Vec::new();
    for _ in 0..2000 {
        let at = Instant::now();
        let _ = limit.local().check(1);
        local.push(at.elapsed());
    }
    let (shared, local) = (summary(&mut shared), summary(&mut local));
    println!("rate-limit check, shared in Redis: {shared}; local: {local}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_client_limit_admits_its_burst_and_its_rate_across_the_fleet() {
    let fleet = Arc::new(
        Fleet::start(
            &["a"],
            "",
            "",
            "clients:\n  team: { key: \"k-team-fleet-1234\", requests_per_minute: 120 }\n",
        )
        .await,
    );
    // Not a whole minute's 120 at once.
    let statuses = assert_fresh_limit_holds(&fleet, "k-team-fleet-1234", 0.0).await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
}

/// Sends 30 requests to each of the three gateways as client `key`, fresh
/// at 120 a minute, and checks the fleet admitted at least its default
/// burst (5 s of the rate: 10) and at most that plus 2 a second, plus
/// `judged_locally` requests a gateway may judge by its own limit. Returns
/// the statuses.
async fn assert_fresh_limit_holds(fleet: &Arc<Fleet>, key: &str, judged_locally: f64) -> Vec<u16> {
    let started = Instant::now();
    let statuses = fleet.load(30, Some(key)).await;
    let elapsed = started.elapsed();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let allowed = 10.0 + 2.0 * elapsed.as_secs_f64() + judged_locally;
    assert!(
        ok >= 10 && ok as f64 <= allowed + 1.0,
        "{ok} admitted in {elapsed:?} by three gateways; the fleet allows {allowed:.1}"
    );
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_probes_a_model_once_per_interval() {
    let fleet = Fleet::start(
        &["a"],
        "health_check: { interval: 200ms, timeout: 1s, retries: 2 }",
        "",
        "",
    )
    .await;
    let before = fleet.mocks[0].control().counts().model_lists;
    let window = Duration::from_secs(3);
    tokio::time::sleep(window).await; // a measurement window, not a wait for a condition
    let probes = fleet.mocks[0].control().counts().model_lists - before;
    let intervals = window.as_secs_f64() / 0.2;
    println!("{probes} probes in {intervals} intervals by 3 instances");
    assert!(
        (probes as f64) >= intervals * 0.6 && (probes as f64) <= intervals * 1.3 + 2.0,
        "{probes} probes in {intervals} intervals (unshared would be {})",
        intervals * 3.0
    );
    for gateway in &fleet.gateways {
        let health = gateway.state().runtime().targets["m0"].health().status();
        assert_eq!(
            health.as_str(),
            "healthy",
            "every instance reads the result"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_fails_no_request_and_the_fleet_resyncs_when_it_returns() {
    let mut fleet = Fleet::start(
        &["a", "b"],
        "rate_limit: { requests_per_minute: 1000000 }",
        "",
        "",
    )
    .await;
    // Steady traffic on every instance through the whole outage.
    let stop = Arc::new(AtomicBool::new(false));
    let mut traffic = tokio::task::JoinSet::new();
    for instance in 0..3 {
        let (url, stop) = (
            fleet.url(instance, "/v1/chat/completions"),
            Arc::clone(&stop),
        );
        let client = fleet.client.clone();
        traffic.spawn(async move {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let body =
                    json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]});
                let response = client.post(&url).json(&body).send().await.unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        });
    }
    let served = |fleet: &Fleet| {
        fleet.mocks[0].control().counts().requests + fleet.mocks[1].control().counts().requests
    };
    let at_kill = served(&fleet);
    fleet.redis.kill();
    assert!(
        eventually(Duration::from_secs(5), || async { fleet.connected(false) }).await,
        "the instances did not notice Redis going"
    );
    // While Redis is away: a manual trip stays local for now.
    assert_eq!(fleet.admin(0, "/admin/models/m1/trip").await.status(), 200);
    assert_eq!(fleet.breakers("m1"), ["forced_open", "closed", "closed"]);
    let during = served(&fleet);
    assert!(
        eventually(Duration::from_secs(5), || async {
            served(&fleet) > during + 30
        })
        .await,
        "traffic stalled while Redis was away"
    );

    fleet.redis.restart().await;
    assert!(
        eventually(Duration::from_secs(10), || async { fleet.connected(true) }).await,
        "the instances did not reconnect"
    );
    assert!(
        fleet
            .all_breakers("m1", "forced_open", Duration::from_secs(2))
            .await,
        "the trip made during the outage was not shared on resync: {:?}",
        fleet.breakers("m1")
    );
    let after = served(&fleet);
    assert!(
        eventually(Duration::from_secs(5), || async {
            served(&fleet) > after + 30
        })
        .await
    );
    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    while let Some(done) = traffic.join_next().await {
        statuses.extend(done.unwrap());
    }
    let failed: Vec<_> = statuses.iter().filter(|s| **s != 200).collect();
    println!(
        "{} requests, {} served by the models from the kill on, none failed",
        statuses.len(),
        served(&fleet) - at_kill
    );
    assert!(
        failed.is_empty(),
        "{} requests failed: {failed:?}",
        failed.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_is_verified_against_trusted_roots_and_its_password_is_never_logged() {
    let certificates = tempfile::tempdir().unwrap();
    let redis = RedisServer::start_tls(certificates.path()).await;
    let ca = redis.ca_file().unwrap();
    let mocks = crate::support::mocks(&["a"]).await;
    let configs = tempfile::tempdir().unwrap();
    // Trusts the test CA (rustls reads the roots of SSL_CERT_FILE).
    let trusting = gateway_on_redis(&redis, &mocks, configs.path(), &ca).await;
    // Trusts only the server's own leaf certificate, not the CA that signed it.
    let leaf = certificates.path().join("redis.crt");
    let distrusting = gateway_on_redis(&redis, &mocks, configs.path(), &leaf).await;

    let client = reqwest::Client::new();
    let connected = |gateway: &ServeProcess| {
        let (client, url) = (client.clone(), format!("{}/api/status", gateway.url));
        async move {
            let status: serde_json::Value =
                client.get(url).send().await.unwrap().json().await.unwrap();
            status["state"]["connected"] == true
        }
    };
    assert!(
        eventually(Duration::from_secs(10), || connected(&trusting)).await,
        "TLS with password to a server whose CA is trusted"
    );
    let tripped = client
        .post(format!("{}/admin/models/m0/trip", trusting.url))
        .bearer_auth(crate::support::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(tripped.status(), 200);
    let redis_client = redis.connection().await;
    assert!(
        eventually(Duration::from_secs(5), || {
            let mut redis = redis_client.clone();
            async move { audit_entries(&mut redis).await.len() == 1 }
        })
        .await,
        "the trip reached Redis over TLS"
    );

    assert!(
        !connected(&distrusting).await,
        "an unknown issuer is refused"
    );
    let served = client
        .post(format!("{}/v1/chat/completions", distrusting.url))
        .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        served.status(),
        200,
        "without Redis it serves on local state"
    );

    // The failure is counted when it is logged: wait for it before stopping.
    let counted = eventually(Duration::from_secs(10), || async {
        let metrics = client
            .get(format!("{}/metrics", distrusting.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics.contains("steadfast_shared_state_errors_total{")
    })
    .await;
    assert!(counted, "the refused connection is counted");
    let refused = distrusting.terminate().await;
    assert!(
        refused.to_lowercase().contains("certificate"),
        "the log says why: {refused}"
    );
    let accepted = trusting.terminate().await;
    for logs in [&refused, &accepted] {
        assert!(!logs.contains(TLS_PASSWORD), "{logs}");
    }
}

/// A gateway (child process) over `mocks` sharing state in `redis`, with
/// `SSL_CERT_FILE` as its only trusted roots.
async fn gateway_on_redis(
    redis: &RedisServer,
    mocks: &[steadfast_mock::MockServer],
    dir: &Path,
    roots: &Path,
) -> ServeProcess {
    let port = crate::support::free_port();
    let yaml = crate::support::config_yaml(mocks, "", "")
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"))
        + &format!(
            "state: {{ backend: redis, url: \"{}\", key_prefix: fleet-test }}\n",
            redis.url()
        );
    let path = dir.join(format!("steadfast-{port}.yaml"));
    std::fs::write(&path, yaml).unwrap();
    let roots = roots.to_str().unwrap();
    ServeProcess::start(&[], &path, port, &[("SSL_CERT_FILE", roots)]).await
}

/// Runs one command on `server`.
async fn redis_command(server: &RedisServer, args: &[&str]) -> redis::Value {
    let mut connection = server.connection().await;
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query_async(&mut connection).await.unwrap()
}

/// The `state` section of an instance's `/api/status`.
async fn shared_state(fleet: &Fleet, instance: usize) -> serde_json::Value {
    let status: serde_json::Value = fleet
        .client
        .get(fleet.url(instance, "/api/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status["state"].clone()
}

/// A failover behind one address: the primary is demoted (it keeps the
/// gateways' connections and answers `READONLY`) and a replica promoted.
/// While the address still leads to the demoted server, every gateway says
/// so (`connected: false`, `degraded: readonly`) and serves on its local
/// state, without failing a request or flapping; once the address leads to
/// the new primary, each reconnects within seconds and the fleet's limits
/// hold again there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_behind_one_address_is_followed_and_fails_no_request() {
    let primary = RedisServer::start().await;
    let replica = RedisServer::start().await;
    let primary_port = primary.addr().port().to_string();
    redis_command(&replica, &["REPLICAOF", "127.0.0.1", &primary_port]).await;
    let forwarder = Forwarder::start(primary.addr()).await;
    let clients = "clients:\n  before: { key: \"k-before-failover-1\", requests_per_minute: 120 }\n  \
                   after: { key: \"k-after-failover-12\", requests_per_minute: 120 }\n";
    let fleet = Arc::new(Fleet::start_at(primary, &forwarder.url(), &["a"], "", "", clients).await);

    // The failover: the replica becomes the primary, the primary its replica.
    redis_command(&replica, &["REPLICAOF", "NO", "ONE"]).await;
    let replica_port = replica.addr().port().to_string();
    redis_command(&fleet.redis, &["REPLICAOF", "127.0.0.1", &replica_port]).await;
    let statuses = fleet.load(10, Some("k-before-failover-1")).await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "no request fails: {statuses:?}"
    );
    let readonly = json!({"backend": "redis", "connected": false, "degraded": "readonly"});
    let told = eventually(Duration::from_secs(10), || async {
        for instance in 0..3 {
            if shared_state(&fleet, instance).await != readonly {
                return false;
            }
        }
        true
    })
    .await;
    assert!(told, "{}", shared_state(&fleet, 0).await);
    // It stays down (no flapping up and down per request) while serving,
    // and is ready, with a warning.
    for _ in 0..5 {
        let answer = fleet.chat(1, Some("k-before-failover-1")).await;
        assert!([200, 429].contains(&answer.status().as_u16()));
        assert_eq!(shared_state(&fleet, 1).await, readonly);
    }
    let ready = fleet
        .client
        .get(fleet.url(2, "/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["state"], readonly);
    assert!(
        ready["warnings"][0]
            .as_str()
            .unwrap()
            .contains("read-only replica"),
        "{ready}"
    );

    // The address moves to the new primary.
    forwarder.point_to(replica.addr());
    assert!(
        eventually(Duration::from_secs(10), || async { fleet.connected(true) }).await,
        "every gateway reconnects to the new primary"
    );
    assert_fresh_limit_holds(&fleet, "k-after-failover-12", 0.0).await;
    let redis::Value::Array(keys) = redis_command(&replica, &["KEYS", "fleet-test:rate:*"]).await
    else {
        panic!("KEYS answers an array");
    };
    assert!(!keys.is_empty(), "the limits are held on the new primary");
    assert!(fleet.connected(true), "and the link stays up");
}

/// One client key per gateway of a fleet, to tell where each one writes.
const GATEWAY_KEYS: [&str; 3] = [
    "k-gateway-zero-01",
    "k-gateway-one-001",
    "k-gateway-two-001",
];

/// The port of the primary the Sentinel names, as it says it.
async fn primary_port(sentinel: &SentinelServer) -> String {
    let addr = sentinel
        .sentinel(&["get-master-addr-by-name", "mymaster"])
        .await;
    let (_, port): (String, String) = redis::from_redis_value(addr).unwrap();
    port
}

/// A fleet on `redis+sentinel://` through a Sentinel failover: three
/// Sentinels watch a primary and its replica; `SENTINEL FAILOVER` promotes
/// the replica under load. No request fails, every gateway follows the
/// primary the Sentinels name, and the limits hold for the fleet there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_is_followed_and_fails_no_request() {
    let _serial = crate::support::TIMED_RUNS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let primary = RedisServer::start().await;
    let replica = RedisServer::start().await;
    let primary_port_number = primary.addr().port().to_string();
    redis_command(&replica, &["REPLICAOF", "127.0.0.1", &primary_port_number]).await;
    let mut sentinels = Vec::new();
    for _ in 0..3 {
        sentinels.push(SentinelServer::start(dir.path(), primary.addr()).await);
    }
    // The Sentinels know the replica and each other before a failover.
    let ready = eventually(Duration::from_secs(20), || async {
        let redis::Value::Array(replicas) = sentinels[0].sentinel(&["replicas", "mymaster"]).await
        else {
            return false;
        };
        let redis::Value::Array(peers) = sentinels[0].sentinel(&["sentinels", "mymaster"]).await
        else {
            return false;
        };
        !replicas.is_empty() && peers.len() == 2
    })
    .await;
    assert!(
        ready,
        "the Sentinels did not find the replica and each other"
    );
    let hosts: Vec<String> = sentinels.iter().map(SentinelServer::host).collect();
    let url = format!("redis+sentinel://{}/mymaster", hosts.join(","));
    let mut clients =
        "clients:\n  before: { key: \"k-before-failover-1\", requests_per_minute: 120 }\n  \
                       after: { key: \"k-after-failover-12\", requests_per_minute: 120 }\n"
            .to_owned();
    for (instance, key) in GATEWAY_KEYS.iter().enumerate() {
        clients.push_str(&format!(
            "  gateway{instance}: {{ key: \"{key}\" , requests_per_minute: 6000 }}\n"
        ));
    }
    let fleet = Arc::new(Fleet::start_at(primary, &url, &["a"], "", "", &clients).await);

    sentinels[0].sentinel(&["failover", "mymaster"]).await;
    let statuses = fleet.load(20, Some("k-before-failover-1")).await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "no request fails: {statuses:?}"
    );
    let replica_port = replica.addr().port().to_string();
    let promoted = eventually(Duration::from_secs(20), || async {
        primary_port(&sentinels[0]).await == replica_port
    })
    .await;
    assert!(promoted, "the Sentinels promoted the replica");
    // Each gateway moves to the primary the Sentinels name (its check
    // every 2 s asks them), even while the old primary still takes writes:
    // each one's own client is then limited on the new primary.
    let followed = eventually(Duration::from_secs(20), || async {
        for (instance, key) in GATEWAY_KEYS.iter().enumerate() {
            let _ = fleet.chat(instance, Some(key)).await;
        }
        let mut moved = fleet.connected(true);
        for name in ["gateway0", "gateway1", "gateway2"] {
            let pattern = format!("fleet-test:rate:{{client:{name}}}:*");
            moved &= matches!(
                redis_command(&replica, &["KEYS", &pattern]).await,
                redis::Value::Array(keys) if !keys.is_empty()
            );
        }
        moved
    })
    .await;
    assert!(
        followed,
        "every gateway follows the primary the Sentinels name"
    );

    assert_fresh_limit_holds(&fleet, "k-after-failover-12", 0.0).await;
}

/// The audit entries of the fleet's stream, read from whichever node of a
/// cluster holds it.
async fn cluster_audit(nodes: &[&RedisServer]) -> Vec<(String, String)> {
    for node in nodes {
        let mut connection = node.connection().await;
        let reply: redis::RedisResult<redis::streams::StreamRangeReply> = redis::cmd("XRANGE")
            .arg("fleet-test:audit")
            .arg("-")
            .arg("+")
            .query_async(&mut connection)
            .await;
        if let Ok(reply) = reply {
            return reply
                .ids
                .iter()
                .map(|id| {
                    let field = |name: &str| id.get::<String>(name).unwrap_or_default();
                    (field("action"), field("instance"))
                })
                .collect();
        }
    }
    Vec::new()
}

/// A fleet on a Redis Cluster of three nodes (`redis+cluster://`) carries
/// every shared feature: cached answers, client limits, breakers, the audit
/// stream and one health probe per interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_cluster_carries_every_shared_feature() {
    let _serial = crate::support::TIMED_RUNS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = RedisServer::cluster(dir.path()).await;
    let hosts: Vec<String> = nodes.iter().map(|n| n.addr().to_string()).collect();
    let url = format!("redis+cluster://{}", hosts.join(","));
    let clients = "clients:\n  app: { key: \"k-cluster-app-0001\" }\n  \
                   fresh: { key: \"k-cluster-fresh-01\", requests_per_minute: 120 }\n";
    let first = nodes.remove(0);
    let fleet = Arc::new(
        Fleet::start_at(
            first,
            &url,
            &["a", "b"],
            "health_check: { interval: 200ms, timeout: 1s, retries: 2 }",
            "cache: { mode: normal, ttl: 1m, sampled: true, scope: shared }",
            clients,
        )
        .await,
    );

    // Cached answers: kept by one gateway, served by another.
    assert_eq!(
        fleet.chat(0, Some("k-cluster-app-0001")).await.status(),
        200
    );
    let shared = eventually(Duration::from_secs(5), || async {
        let again = fleet.chat(1, Some("k-cluster-app-0001")).await;
        crate::support::header(&again, "x-steadfast-cache") == "hit"
    })
    .await;
    assert!(shared, "an answer kept by one gateway is a hit on another");

    // A client limit, fresh: its burst plus its rate across the fleet.
    assert_fresh_limit_holds(&fleet, "k-cluster-fresh-01", 0.0).await;

    // Breakers: a trip on one gateway holds on all, and the audit stream
    // records it.
    assert_eq!(fleet.admin(1, "/admin/models/m0/trip").await.status(), 200);
    assert!(
        fleet
            .all_breakers("m0", "forced_open", Duration::from_secs(2))
            .await,
        "a trip on one gateway holds on all"
    );
    assert_eq!(fleet.admin(2, "/admin/models/m0/reset").await.status(), 200);
    assert!(
        fleet
            .all_breakers("m0", "closed", Duration::from_secs(2))
            .await
    );
    let every: Vec<&RedisServer> = std::iter::once(&fleet.redis).chain(nodes.iter()).collect();
    let audited = eventually(Duration::from_secs(5), || async {
        cluster_audit(&every).await.len() >= 2
    })
    .await;
    let entries = cluster_audit(&every).await;
    assert!(audited, "audit stream: {entries:?}");
    assert_eq!(
        (entries[0].0.as_str(), entries[1].0.as_str()),
        ("trip", "reset")
    );

    // Health probes: one gateway probes a model per interval.
    let before = fleet.mocks[0].control().counts().model_lists;
    let window = Duration::from_secs(3);
    tokio::time::sleep(window).await; // a measurement window, not a wait for a condition
    let probes = fleet.mocks[0].control().counts().model_lists - before;
    let intervals = window.as_secs_f64() / 0.2;
    assert!(
        (probes as f64) <= intervals * 1.3 + 2.0,
        "{probes} probes in {intervals} intervals (unshared would be {})",
        intervals * 3.0
    );
    assert!(fleet.connected(true), "the link stayed up");
}

/// A node's id in its cluster.
async fn node_id(node: &RedisServer) -> String {
    redis::cmd("CLUSTER")
        .arg("MYID")
        .query_async(&mut node.connection().await)
        .await
        .unwrap()
}

/// A Redis Cluster resharded under load (every slot of one node moved to
/// another — 5 462 slots, keys and all: `MOVED` and `ASK` redirections): no
/// request fails, and a client's limit still holds for the fleet after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_resharded_under_load_fails_no_request() {
    let _serial = crate::support::TIMED_RUNS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = RedisServer::cluster(dir.path()).await;
    let hosts: Vec<String> = nodes.iter().map(|n| n.addr().to_string()).collect();
    let url = format!("redis+cluster://{}", hosts.join(","));
    let (from, to) = (node_id(&nodes[1]).await, node_id(&nodes[2]).await);
    let seed = hosts[0].clone();
    let clients = "clients:\n  team: { key: \"k-cluster-team-001\", requests_per_minute: 6000 }\n  \
                   fresh: { key: \"k-cluster-fresh-01\", requests_per_minute: 120 }\n";
    let first = nodes.remove(0);
    let fleet = Arc::new(
        Fleet::start_at(
            first,
            &url,
            &["a"],
            "rate_limit: { requests_per_minute: 60000 }",
            "",
            clients,
        )
        .await,
    );
    let load = tokio::spawn({
        let fleet = Arc::clone(&fleet);
        async move { fleet.load(60, Some("k-cluster-team-001")).await }
    });
    let moved = tokio::task::spawn_blocking(move || {
        Command::new("redis-cli")
            .args(["--cluster", "reshard", &seed])
            .args(["--cluster-from", &from, "--cluster-to", &to])
            .args(["--cluster-slots", "5462", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(moved.success(), "redis-cli --cluster reshard");
    let statuses = load.await.unwrap();
    assert!(
        statuses.iter().all(|s| *s == 200),
        "no request fails: {statuses:?}"
    );
    // A primary emptied of its slots turns replica of the one that took
    // them and answers a script READONLY: that one request per gateway is
    // judged by the gateway's own limit while a new cluster connection
    // learns the map; the link stays up.
    assert_fresh_limit_holds(&fleet, "k-cluster-fresh-01", 3.0).await;
    assert!(fleet.connected(true), "the link stays up");
}
