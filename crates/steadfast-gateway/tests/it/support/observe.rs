//! Reading the gateway's metrics: scrape `/metrics`, look up a series'
//! value, list the names; and the small set-ups the observability tests share.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use steadfast_mock::{Faults, MockServer, Mode};

use super::{Harness, header};

/// The default test config with route `chat` renamed `route` and models
/// `m{i}` renamed `{prefix}{i}`.
pub fn renamed(
    mocks: &[MockServer],
    model_extra: &str,
    route_extra: &str,
    route: &str,
    prefix: &str,
) -> String {
    let mut yaml = super::config_yaml(mocks, model_extra, route_extra)
        .replace("  chat:\n", &format!("  {route}:\n"));
    for i in 0..mocks.len() {
        yaml = yaml.replace(&format!("m{i}"), &format!("{prefix}{i}"));
    }
    yaml
}

/// The gateway's `/metrics` text.
pub async fn scrape(harness: &Harness) -> String {
    let response = harness
        .client
        .get(harness.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/plain; version=0.0.4"));
    response.text().await.unwrap()
}

/// The value of the series `name` whose labels include every one of `labels`
/// (summed if several match); `None` if none does.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, number)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, label_text) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let matches = series_name == name
            && labels.iter().all(|(k, v)| {
                label_text
                    .split(',')
                    .any(|pair| pair == format!("{k}=\"{v}\""))
            });
        if matches {
            *found.get_or_insert(0.0) += number.parse::<f64>().unwrap();
        }
    }
    found
}

/// Names of every series in a `/metrics` text.
pub fn names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// A chat request for `route`; streamed ones ask for usage.
pub fn chat_body(route: &str, stream: bool) -> Value {
    json!({
        "model": route,
        "messages": [{"role": "user", "content": "hello"}],
        "stream": stream,
        "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null },
    })
}

/// Makes `mock` answer every request with HTTP `status`.
pub fn fail_with(mock: &MockServer, status: u16) {
    mock.control().set(Faults {
        mode: Mode::Error,
        status,
        ..Faults::default()
    });
}
