//! Providers reached through the HTTP proxy the environment names: the
//! gateway opens a `CONNECT` tunnel through it, and `NO_PROXY` bypasses it.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::support::ServeProcess;

/// A CONNECT proxy on loopback; returns its port and the destinations of
/// the tunnels it opened.
async fn connect_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tunnels = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&tunnels);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                assert!(head.starts_with("CONNECT "), "{head}");
                seen.lock().unwrap().push(target.clone());
                let mut upstream = TcpStream::connect(&target).await.unwrap();
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (port, tunnels)
}

async fn chat(gateway: &ServeProcess) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gateway.url))
        .json(&json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A gateway over `mocks` run with `HTTP_PROXY=proxy` and `NO_PROXY=no_proxy`.
async fn gateway(
    mocks: &[steadfast_mock::MockServer],
    dir: &tempfile::TempDir,
    proxy: &str,
    no_proxy: &str,
) -> ServeProcess {
    let port = crate::support::free_port();
    let config = dir.path().join(format!("steadfast-{port}.yaml"));
    let yaml = crate::support::config_yaml(mocks, "", "")
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    std::fs::write(&config, yaml).unwrap();
    let env = [("HTTP_PROXY", proxy), ("NO_PROXY", no_proxy)];
    ServeProcess::start(&[], &config, port, &env).await
}

#[tokio::test]
async fn providers_are_reached_through_the_proxy_unless_no_proxy_names_them() {
    let mocks = crate::support::mocks(&["primary"]).await;
    let mock_address = mocks[0].addr().to_string();
    let (proxy_port, tunnels) = connect_proxy().await;
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let dir = tempfile::tempdir().unwrap();

    let proxied = gateway(&mocks, &dir, &proxy, "").await;
    let answer = chat(&proxied).await;
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "primary here. You said: hi"
    );
    assert_eq!(*tunnels.lock().unwrap(), vec![mock_address]);
    proxied.terminate().await;

    let bypassed = gateway(&mocks, &dir, &proxy, "127.0.0.1").await;
    chat(&bypassed).await;
    assert_eq!(
        tunnels.lock().unwrap().len(),
        1,
        "NO_PROXY names the provider's host: no tunnel"
    );
    bypassed.terminate().await;
}
