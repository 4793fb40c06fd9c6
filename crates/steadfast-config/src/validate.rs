//! Checks that need the whole config: references between sections, ranges,
//! addresses. Every problem is collected, not just the first.

use std::collections::HashSet;
use std::net::SocketAddr;

use super::Problem;
use super::duration::ConfigDuration;
use super::types::{BreakerConfig, Config, ProviderKind, RouteConfig, ServerConfig, Strategy};

/// Every problem in `config`, in file order.
pub(super) fn validate(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut report = |path: String, reason: String| problems.push(Problem { path, reason });

    if config.server.listen.parse::<SocketAddr>().is_err() {
        report(
            "server.listen".into(),
            "not an address: write host:port, e.g. \"127.0.0.1:8080\"".into(),
        );
    }
    server_limits(&config.server, &mut report);
    if config.server.threads == Some(0) {
        report("server.threads".into(), "must be at least 1".into());
    }
    if config.server.max_body_bytes == 0 {
        report(
            "server.max_body_bytes".into(),
            "must be greater than 0".into(),
        );
    }
    if config
        .server
        .admin_token
        .as_ref()
        .is_some_and(|t| t.expose().is_empty())
    {
        report("server.admin_token".into(), "is empty".into());
    }

    for (name, provider) in &config.providers {
        let path = format!("providers.{name}");
        let default_url = matches!(provider.kind, ProviderKind::Bedrock | ProviderKind::Vertex)
            && provider.base_url.is_empty();
        match url::Url::parse(&provider.base_url) {
            _ if default_url || provider.base_url.is_empty() => {}
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            Ok(_) => report(
                format!("{path}.base_url"),
                "must be an http:// or https:// URL with a host".into(),
            ),
            Err(error) => report(
                format!("{path}.base_url"),
                format!("not a valid URL: {error}"),
            ),
        }
        if provider
            .api_key
            .as_ref()
            .is_some_and(|k| k.expose().is_empty())
        {
            report(format!("{path}.api_key"), "is empty".into());
        }
        crate::providers::kind_problems(provider, &path, &mut report);
    }

    for (name, model) in &config.models {
        let path = format!("models.{name}");
        if !config.providers.contains_key(&model.provider) {
            report(
                format!("{path}.provider"),
                format!(
                    "unknown provider {:?}; known: {}",
                    model.provider,
                    known(config.providers.keys())
                ),
            );
        }
        if model.model.trim().is_empty() {
            report(format!("{path}.model"), "is empty".into());
        }
        if model.timeout.0.is_zero() {
            report(format!("{path}.timeout"), "must be greater than 0".into());
        }
        if model.first_token_timeout.0.is_zero() {
            report(
                format!("{path}.first_token_timeout"),
                "must be greater than 0".into(),
            );
        }
        if model.max_answer_bytes == 0 {
            report(
                format!("{path}.max_answer_bytes"),
                "must be greater than 0".into(),
            );
        }
        if model.max_concurrency == Some(0) {
            report(
                format!("{path}.max_concurrency"),
                "must be at least 1".into(),
            );
        }
        if let Some(adaptive) = &model.adaptive_concurrency {
            let path = format!("{path}.adaptive_concurrency");
            if adaptive.initial == 0 {
                report(format!("{path}.initial"), "must be at least 1".into());
            }
            if adaptive.min == 0 {
                report(format!("{path}.min"), "must be at least 1".into());
            }
            if let Some(max) = model.max_concurrency.filter(|max| adaptive.min > *max) {
                report(
                    format!("{path}.min"),
                    format!("must not be above max_concurrency ({max})"),
                );
            }
            if !(0.5..=0.99).contains(&adaptive.backoff) {
                report(
                    format!("{path}.backoff"),
                    "must be between 0.5 and 0.99".into(),
                );
            }
            if adaptive.slow_call.is_some_and(|slow| slow.0.is_zero()) {
                report(format!("{path}.slow_call"), "must be greater than 0".into());
            }
        }
        breaker_problems(
            &model.circuit_breaker,
            &format!("{path}.circuit_breaker"),
            &mut report,
        );
        if let Some(health) = &model.health_check {
            if health.interval.0.is_zero() {
                report(
                    format!("{path}.health_check.interval"),
                    "must be greater than 0".into(),
                );
            }
            if health.timeout.0.is_zero() {
                report(
                    format!("{path}.health_check.timeout"),
                    "must be greater than 0".into(),
                );
            }
            if health.retries == 0 {
                report(
                    format!("{path}.health_check.retries"),
                    "must be at least 1".into(),
                );
            }
        }
        if let Some(limit) = &model.rate_limit {
            let path = format!("{path}.rate_limit");
            match (limit.requests_per_minute, limit.tokens_per_minute) {
                (None, None) => report(
                    path.clone(),
                    "set requests_per_minute, tokens_per_minute or both".into(),
                ),
                (Some(0), _) => report(
                    format!("{path}.requests_per_minute"),
                    "must be at least 1".into(),
                ),
                (_, Some(0)) => report(
                    format!("{path}.tokens_per_minute"),
                    "must be at least 1".into(),
                ),
                _ => {}
            }
            burst_problems(limit.burst, &format!("{path}.burst"), &mut report);
        }
    }

    let mut keys = HashSet::new();
    for (name, client) in &config.clients {
        let path = format!("clients.{name}");
        if client.key.expose().len() < 8 {
            report(
                format!("{path}.key"),
                "must be at least 8 characters".into(),
            );
        } else if !keys.insert(client.key.expose()) {
            report(
                format!("{path}.key"),
                "is the same key as another client's".into(),
            );
        }
        if client.requests_per_minute == Some(0) {
            report(
                format!("{path}.requests_per_minute"),
                "must be at least 1".into(),
            );
        }
        burst_problems(client.burst, &format!("{path}.burst"), &mut report);
        if client.max_concurrent_requests == Some(0) {
            report(
                format!("{path}.max_concurrent_requests"),
                "must be at least 1".into(),
            );
        }
    }

    if config.routes.is_empty() {
        report("routes".into(), "at least one route is needed".into());
    }
    for (name, route) in &config.routes {
        let path = format!("routes.{name}");
        if route.targets.is_empty() {
            report(format!("{path}.targets"), "needs at least one model".into());
        }
        let mut seen = HashSet::new();
        for (index, target) in route.targets.iter().enumerate() {
            let target_path = format!("{path}.targets[{index}]");
            if !config.models.contains_key(target) {
                report(
                    target_path,
                    format!(
                        "unknown model {target:?}; known: {}",
                        known(config.models.keys())
                    ),
                );
            } else if !seen.insert(target) {
                report(target_path, format!("model {target:?} is listed twice"));
            }
        }
        let retry = &route.retry;
        if retry.max_attempts == 0 {
            report(
                format!("{path}.retry.max_attempts"),
                "must be at least 1".into(),
            );
        }
        if retry.initial_backoff > retry.max_backoff {
            report(
                format!("{path}.retry.initial_backoff"),
                "must not exceed max_backoff".into(),
            );
        }
        if !(0.0..=100.0).contains(&retry.budget) {
            report(
                format!("{path}.retry.budget"),
                "must be between 0 and 100".into(),
            );
        }
        if route.timeout.0.is_zero() {
            report(format!("{path}.timeout"), "must be greater than 0".into());
        }
        if route.stream_deadline.0.is_zero() {
            report(
                format!("{path}.stream_deadline"),
                "must be greater than 0".into(),
            );
        }

        strategy_problems(route, &path, &mut report);
        degradation_problems(config, route, &path, &mut report);
    }
    crate::providers::deployment_problems(config, &mut report);
    super::alerts::validate::problems(config, &mut report);
    crate::state::problems(&config.state, &mut report);
    problems
}

/// A route's cache, last answer and shedding.
fn degradation_problems(
    config: &Config,
    route: &RouteConfig,
    path: &str,
    report: &mut impl FnMut(String, String),
) {
    if let Some(cache) = &route.cache {
        let path = format!("{path}.cache");
        if cache.ttl.0.is_zero() {
            report(format!("{path}.ttl"), "must be greater than 0".into());
        }
        if cache.max_entry_bytes == 0 {
            report(
                format!("{path}.max_entry_bytes"),
                "must be greater than 0".into(),
            );
        } else if cache.max_bytes < cache.max_entry_bytes {
            report(
                format!("{path}.max_bytes"),
                "must be at least max_entry_bytes".into(),
            );
        }
        if route.strategy == Strategy::Quorum {
            report(
                path,
                "a quorum route's merged answers are not cached".into(),
            );
        }
    }
    if let Some(last) = &route.last_answer {
        let length = last.message.chars().count();
        if last.message.trim().is_empty() || length > 4096 {
            report(
                format!("{path}.last_answer.message"),
                "must be 1 to 4096 characters".into(),
            );
        }
    }
    if let Some(shedding) = &route.shedding {
        let path = format!("{path}.shedding");
        if route.strategy == Strategy::Quorum {
            report(
                path.clone(),
                "a quorum route takes several targets' places per request: shedding counts one"
                    .into(),
            );
        }
        if shedding.capacity == Some(0) {
            report(format!("{path}.capacity"), "must be at least 1".into());
        }
        let unbounded: Vec<&str> = route
            .targets
            .iter()
            .filter(|t| {
                config.models.get(*t).is_some_and(|m| {
                    m.max_concurrency.is_none() && m.adaptive_concurrency.is_none()
                })
            })
            .map(String::as_str)
            .collect();
        if shedding.capacity.is_none() && !unbounded.is_empty() {
            report(
                format!("{path}.capacity"),
                format!(
                    "needed: not every target has max_concurrency or adaptive_concurrency ({} has neither)",
                    unbounded.join(", ")
                ),
            );
        }
        if shedding.max_queue == Some(0) {
            report(format!("{path}.max_queue"), "must be at least 1".into());
        }
        if shedding.retry_after.0.is_zero() {
            report(
                format!("{path}.retry_after"),
                "must be greater than 0".into(),
            );
        }
    }
}

/// The operations listener and the limits of the server.
fn server_limits(server: &ServerConfig, report: &mut impl FnMut(String, String)) {
    if let Some(ops) = &server.ops_listen {
        match ops.parse::<SocketAddr>() {
            Err(_) => report(
                "server.ops_listen".into(),
                "not an address: write host:port, e.g. \"127.0.0.1:9090\"".into(),
            ),
            Ok(ops)
                if server
                    .listen
                    .parse::<SocketAddr>()
                    .is_ok_and(|main| main == ops) =>
            {
                report(
                    "server.ops_listen".into(),
                    "must differ from server.listen".into(),
                );
            }
            Ok(_) => {}
        }
    }
    if let Some(token) = &server.ops_token {
        if token.expose().len() < 16 {
            report(
                "server.ops_token".into(),
                "must be at least 16 characters (e.g. `openssl rand -hex 16`)".into(),
            );
        }
    }
    if server.audit_log_max_bytes < 4096 {
        report(
            "server.audit_log_max_bytes".into(),
            "must be at least 4096".into(),
        );
    }
    if server.max_connections == 0 {
        report("server.max_connections".into(), "must be at least 1".into());
    }
    if server.write_timeout.0.is_zero() {
        report(
            "server.write_timeout".into(),
            "must be greater than 0".into(),
        );
    }
    if server.client_timeout.0.is_zero() {
        report(
            "server.client_timeout".into(),
            "must be greater than 0".into(),
        );
    }
}

fn breaker_problems(breaker: &BreakerConfig, path: &str, report: &mut impl FnMut(String, String)) {
    let rate = |value: f64| value > 0.0 && value <= 1.0;
    if !rate(breaker.failure_rate) {
        report(format!("{path}.failure_rate"), "must be in (0, 1]".into());
    }
    if !rate(breaker.slow_call_rate) {
        report(format!("{path}.slow_call_rate"), "must be in (0, 1]".into());
    }
    if breaker.min_calls == 0 {
        report(format!("{path}.min_calls"), "must be at least 1".into());
    }
    if breaker.half_open_calls == 0 {
        report(
            format!("{path}.half_open_calls"),
            "must be at least 1".into(),
        );
    }
    if breaker.window.0.is_zero() {
        report(format!("{path}.window"), "must be greater than 0".into());
    }
    if breaker.open_for.0.is_zero() {
        report(format!("{path}.open_for"), "must be greater than 0".into());
    }
    if breaker
        .max_open_for
        .is_some_and(|max| max < breaker.open_for)
    {
        report(
            format!("{path}.max_open_for"),
            "must not be less than open_for".into(),
        );
    }
    if breaker.open_for_multiplier.is_nan() || breaker.open_for_multiplier < 1.0 {
        report(
            format!("{path}.open_for_multiplier"),
            "must be at least 1".into(),
        );
    }
}

fn known<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn strategy_problems(route: &RouteConfig, path: &str, report: &mut impl FnMut(String, String)) {
    if route.fan_out == Some(0) {
        report(format!("{path}.fan_out"), "must be at least 1".into());
    }
    if !(0.0..=1.0).contains(&route.hedge_budget) {
        report(
            format!("{path}.hedge_budget"),
            "must be between 0 and 1".into(),
        );
    }
    for (model, weight) in &route.weights {
        if !route.targets.contains(model) {
            report(
                format!("{path}.weights.{model}"),
                "is not one of the route's targets".into(),
            );
        } else if !(weight.is_finite() && *weight >= 0.0) {
            report(
                format!("{path}.weights.{model}"),
                "must be a number of 0 or more".into(),
            );
        }
    }
    match (route.strategy, route.quorum) {
        (Strategy::Quorum, None) => {
            report(
                format!("{path}.quorum"),
                "a quorum route needs `quorum`: the answers required".into(),
            );
        }
        (Strategy::Quorum, Some(k)) if k == 0 || k > route.targets.len() => report(
            format!("{path}.quorum"),
            format!(
                "must be between 1 and the number of targets ({})",
                route.targets.len()
            ),
        ),
        (Strategy::Quorum, Some(k)) if route.fan_out.is_some_and(|n| n < k) => {
            report(
                format!("{path}.fan_out"),
                "must not be less than `quorum`".into(),
            );
        }
        (strategy, Some(_)) if strategy != Strategy::Quorum => {
            report(
                format!("{path}.quorum"),
                "only applies to `strategy: quorum`".into(),
            );
        }
        _ => {}
    }
    if route.strategy == Strategy::Hedged && route.hedge_after.is_none() {
        report(
            format!("{path}.hedge_after"),
            "a hedged route needs `hedge_after` (e.g. \"500ms\" or \"p95\")".into(),
        );
    }
}

/// A rate limit's burst is more than nothing and at most a minute's worth.
fn burst_problems(burst: ConfigDuration, path: &str, report: &mut impl FnMut(String, String)) {
    if burst.0.is_zero() || burst.0 > std::time::Duration::from_secs(60) {
        report(
            path.to_owned(),
            "must be more than 0s and at most 60s (a minute's worth of the rate)".into(),
        );
    }
}
