//! A real `redis-server` for the shared-state tests: a child process on a
//! free loopback port with persistence off, killed on drop, restartable on
//! the same port; optionally TLS-only, with a certificate from a throwaway
//! CA. `scripts/setup` installs the server and `openssl`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running (or stopped) Redis owned by the test.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// The folder of the CA and server certificates of a TLS-only server.
    tls: Option<PathBuf>,
    /// The folder of a cluster node's state (`nodes-<port>.conf`).
    cluster: Option<PathBuf>,
}

/// The password a TLS server requires.
pub const TLS_PASSWORD: &str = "tls-redis-secret";

impl RedisServer {
    /// Starts a Redis on a free port and waits until it accepts connections.
    pub async fn start() -> RedisServer {
        RedisServer::start_with(None, None).await
    }

    /// Starts a node of a Redis Cluster (not in a cluster yet: see
    /// [`RedisServer::cluster`]), its state kept in `dir`.
    pub async fn start_cluster_node(dir: &Path) -> RedisServer {
        RedisServer::start_with(None, Some(dir.to_owned())).await
    }

    /// Starts three cluster nodes in `dir` and joins them into one cluster
    /// (`redis-cli --cluster create`), each node the primary of a third of
    /// the slots; returns once every node says the cluster is `ok`.
    pub async fn cluster(dir: &Path) -> Vec<RedisServer> {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(RedisServer::start_cluster_node(dir).await);
        }
        let hosts: Vec<String> = nodes.iter().map(|n| n.addr().to_string()).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&hosts)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run redis-cli (run scripts/setup): {e}"));
        assert!(created.success(), "redis-cli --cluster create failed");
        for node in &nodes {
            let ok = super::eventually(Duration::from_secs(20), || async {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query_async(&mut node.connection().await)
                    .await
                    .unwrap_or_default();
                info.contains("cluster_state:ok")
            })
            .await;
            assert!(ok, "the cluster did not come up on {}", node.addr());
        }
        nodes
    }

    /// Starts a Redis that speaks only TLS, with a certificate for
    /// `localhost` signed by a CA made in `dir` (its certificate:
    /// [`RedisServer::ca_file`]).
    pub async fn start_tls(dir: &Path) -> RedisServer {
        make_certificates(dir);
        RedisServer::start_with(Some(dir.to_owned()), None).await
    }

    async fn start_with(tls: Option<PathBuf>, cluster: Option<PathBuf>) -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = RedisServer {
            port,
            child: None,
            tls,
            cluster,
        };
        server.restart().await;
        server
    }

    /// `redis://127.0.0.1:<port>`; with TLS
    /// `rediss://:<TLS_PASSWORD>@localhost:<port>`.
    pub fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("rediss://:{TLS_PASSWORD}@localhost:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// The server's address (plain servers).
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The certificate of the CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|dir| dir.join("ca.crt"))
    }

    /// Kills the server (as a crash would) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub async fn restart(&mut self) {
        self.kill();
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        match &self.tls {
            None => command.args(["--port", &port]),
            Some(dir) => command
                .args([
                    "--port",
                    "0",
                    "--tls-port",
                    &port,
                    "--tls-auth-clients",
                    "no",
                ])
                .args(["--requirepass", TLS_PASSWORD])
                .arg("--tls-cert-file")
                .arg(dir.join("redis.crt"))
                .arg("--tls-key-file")
                .arg(dir.join("redis.key"))
                .arg("--tls-ca-cert-file")
                .arg(dir.join("ca.crt")),
        };
        if let Some(dir) = &self.cluster {
            command
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                .arg("--cluster-config-file")
                .arg(dir.join(format!("nodes-{}.conf", self.port)));
        }
        let child = command
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server (run scripts/setup): {e}"));
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        let up = super::eventually(Duration::from_secs(10), || {
            let addr = addr.clone();
            async move { tokio::net::TcpStream::connect(addr).await.is_ok() }
        })
        .await;
        assert!(up, "redis-server did not start on {addr}");
    }

    /// A plain client connection, for checking what the gateways wrote.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let client = match self.ca_file() {
            None => redis::Client::open(self.url()).unwrap(),
            Some(ca) => redis::Client::build_with_tls(
                self.url(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(std::fs::read(ca).unwrap()),
                },
            )
            .unwrap(),
        };
        client.get_multiplexed_async_connection().await.unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A CA and a certificate for `localhost` and 127.0.0.1 signed by it, made
/// with the `openssl` command in `dir`: `ca.crt`, `redis.crt`, `redis.key`.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run openssl (run scripts/setup): {e}"));
        assert!(status.success(), "openssl {args:?} failed");
    };
    let new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"],
            &new_key[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=Steadfast test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"],
            &new_key[..],
            &[
                "-keyout",
                "redis.key",
                "-out",
                "redis.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("redis.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "redis.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "redis.crt",
        "-days",
        "2",
        "-extfile",
        "redis.ext",
    ]);
}

/// A real Redis Sentinel watching the primary named `mymaster`: a child
/// process on a free loopback port with its config in `dir` (Sentinel
/// rewrites it), killed on drop.
pub struct SentinelServer {
    port: u16,
    child: Child,
}

impl SentinelServer {
    /// Starts a Sentinel watching `primary` (a quorum of 2, down after 1 s).
    pub async fn start(dir: &Path, primary: std::net::SocketAddr) -> SentinelServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join(format!("sentinel-{port}.conf"));
        std::fs::write(
            &config,
            format!(
                "port {port}\nbind 127.0.0.1\n\
                 sentinel monitor mymaster {} {} 2\n\
                 sentinel down-after-milliseconds mymaster 1000\n\
                 sentinel failover-timeout mymaster 5000\n",
                primary.ip(),
                primary.port()
            ),
        )
        .unwrap();
        let child = Command::new("redis-server")
            .arg(&config)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server --sentinel: {e}"));
        let addr = format!("127.0.0.1:{port}");
        let up = super::eventually(Duration::from_secs(10), || {
            let addr = addr.clone();
            async move { tokio::net::TcpStream::connect(addr).await.is_ok() }
        })
        .await;
        assert!(up, "redis-server --sentinel did not start on {addr}");
        SentinelServer { port, child }
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Runs a `SENTINEL …` command.
    pub async fn sentinel(&self, args: &[&str]) -> redis::Value {
        let client = redis::Client::open(format!("redis://{}", self.host())).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let mut command = redis::cmd("SENTINEL");
        for arg in args {
            command.arg(*arg);
        }
        command.query_async(&mut connection).await.unwrap()
    }
}

impl Drop for SentinelServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
