//! Multi-model voting through a quorum route: three models (simulated
//! providers here; real ones in production) vote on a proposal, the gateway
//! gathers the answers of all three as three choices, each naming its model,
//! and the example tallies them.
//!
//! Run with `cargo run -p steadfast-gateway --example voting`.

use std::io::Write;

use serde_json::{Value, json};
use steadfast_config as config;
use steadfast_mock::{Faults, MockOptions, MockServer};
use steadfast_server::Gateway;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ballots = [
        (
            "gpt",
            "APPROVE: the migration plan is sound and reversible.",
        ),
        (
            "claude",
            "APPROVE: risks are covered by the staged rollout.",
        ),
        ("llama", "REJECT: the rollback window is too short."),
    ];
    let mut voters = Vec::new();
    for (name, reply) in ballots {
        let mut options = MockOptions::named(name);
        options.faults = Faults {
            reply: reply.into(),
            latency_ms: 50,
            ..Faults::default()
        };
        voters.push(MockServer::start(options).await?);
    }
    let mut yaml = String::from("providers:\n");
    for (i, voter) in voters.iter().enumerate() {
        yaml.push_str(&format!(
            "  p{i}: {{ kind: openai, base_url: \"{}\" }}\n",
            voter.base_url()
        ));
    }
    yaml.push_str("models:\n");
    for (i, (name, _)) in ballots.iter().enumerate() {
        yaml.push_str(&format!(
            "  {name}: {{ provider: p{i}, model: {name}-voter }}\n"
        ));
    }
    yaml.push_str(
        "routes:\n  council:\n    strategy: quorum\n    quorum: 3\n    targets: [gpt, claude, llama]\n",
    );
    yaml = yaml.replace(
        "providers:",
        "server: { listen: \"127.0.0.1:0\" }\nproviders:",
    );
    let dir = std::env::temp_dir().join(format!("steadfast-voting-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("voting.yaml");
    std::fs::File::create(&path)?.write_all(yaml.as_bytes())?;
    let gateway = Gateway::start_with(config::load(&path)?, &path).await?;

    let answer: Value = reqwest::Client::new()
        .post(format!("http://{}/v1/chat/completions", gateway.addr()))
        .json(&json!({
            "model": "council",
            "messages": [
                {"role": "system", "content": "Vote APPROVE or REJECT, with one reason."},
                {"role": "user", "content": "Proposal: migrate the billing database this weekend."}
            ]
        }))
        .send()
        .await?
        .json()
        .await?;
    let mut approve = 0;
    let choices = answer["choices"].as_array().cloned().unwrap_or_default();
    for choice in &choices {
        let text = choice["message"]["content"].as_str().unwrap_or_default();
        println!(
            "{:>7} votes  {text}",
            choice["model"].as_str().unwrap_or("?")
        );
        approve += usize::from(text.starts_with("APPROVE"));
    }
    let verdict = if approve * 2 > choices.len() {
        "APPROVED"
    } else {
        "REJECTED"
    };
    println!(
        "verdict: {verdict} ({approve} of {} in favour)",
        choices.len()
    );
    gateway.shutdown().await;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
