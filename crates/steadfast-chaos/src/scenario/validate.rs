//! Whole-scenario checks, each naming the key at fault.

use super::{FaultKind, Scenario};

/// Everything wrong with `scenario`, as `key: reason`.
pub(crate) fn problems(scenario: &Scenario) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fail = |path: String, reason: &str| problems.push(format!("{path}: {reason}"));
    if scenario.duration.0.is_zero() {
        fail("duration".into(), "must be longer than zero");
    }
    let traffic = &scenario.traffic;
    match (traffic.rate, traffic.concurrency) {
        (Some(rate), None) if rate > 0.0 && rate.is_finite() => {}
        (None, Some(clients)) if clients > 0 => {}
        (Some(_), Some(_)) => fail("traffic".into(), "set either rate or concurrency, not both"),
        (None, None) => fail("traffic".into(), "set rate (requests/s) or concurrency"),
        _ => fail("traffic".into(), "rate and concurrency must be above zero"),
    }
    if traffic.routes.is_empty() {
        fail("traffic.routes".into(), "name at least one route");
    }
    if !(0.0..=1.0).contains(&traffic.stream_share) {
        fail("traffic.stream_share".into(), "must be between 0 and 1");
    }
    if traffic.prompt_words[0] > traffic.prompt_words[1] || traffic.prompt_words[0] == 0 {
        fail(
            "traffic.prompt_words".into(),
            "write [fewest, most], fewest at least 1",
        );
    }
    for (name, class) in &traffic.clients {
        if !(class.share > 0.0 && class.share.is_finite()) {
            fail(
                format!("traffic.clients.{name}.share"),
                "must be above zero",
            );
        }
        if class.key.is_empty() {
            fail(format!("traffic.clients.{name}.key"), "is empty");
        }
    }
    for (name, least) in &scenario.targets.classes {
        if !traffic.clients.contains_key(name) {
            fail(
                format!("targets.classes.{name}"),
                "not a class of traffic.clients",
            );
        }
        if !(0.0..=1.0).contains(least) {
            fail(format!("targets.classes.{name}"), "must be between 0 and 1");
        }
    }
    if scenario
        .targets
        .repeats_while_down
        .is_some_and(|least| !(0.0..=1.0).contains(&least))
    {
        fail(
            "targets.repeats_while_down".into(),
            "must be between 0 and 1",
        );
    }
    let gateway = &scenario.gateway;
    let sources = [
        gateway.config.is_some(),
        gateway.config_file.is_some(),
        gateway.url.is_some(),
    ];
    if sources.iter().filter(|set| **set).count() != 1 {
        fail(
            "gateway".into(),
            "set exactly one of config, config_file or url",
        );
    }
    if gateway.url.is_some() && !scenario.mocks.is_empty() {
        fail(
            "mocks".into(),
            "a remote gateway's providers are set in gateway.controls",
        );
    }
    let providers: Vec<&String> = if gateway.url.is_some() {
        gateway.controls.keys().collect()
    } else {
        scenario.mocks.keys().collect()
    };
    for (i, step) in scenario.faults.iter().enumerate() {
        if step.target != "*" && !providers.contains(&&step.target) {
            fail(
                format!("faults[{i}].target"),
                "not a provider of the scenario",
            );
        }
        if matches!(step.lasts, Some(lasts) if lasts.0.is_zero()) {
            fail(format!("faults[{i}].for"), "must be longer than zero");
        }
        match step.fault {
            FaultKind::Error { rate, .. } if !(0.0..=1.0).contains(&rate) => {
                fail(format!("faults[{i}].fault.rate"), "must be between 0 and 1");
            }
            FaultKind::Flap { every } | FaultKind::Random { every } if every.0.is_zero() => {
                fail(
                    format!("faults[{i}].fault.every"),
                    "must be longer than zero",
                );
            }
            _ => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;

    const BASE: &str = "name: t\nduration: 10s\ntraffic: { rate: 10, routes: [chat] }\n\
        mocks: { a: {}, b: { latency: 20ms } }\ngateway: { config: {} }\n";

    #[test]
    fn reads_a_timeline_and_scales_it() {
        let text = format!(
            "{BASE}faults:\n  - {{ target: a, at: 2s, for: 4s, fault: {{ kind: flap, every: 1s }} }}\n  - {{ target: '*', at: 8s, fault: {{ kind: hang }} }}\n"
        );
        let scenario = Scenario::parse(&text)
            .unwrap()
            .scaled_to(std::time::Duration::from_secs(5));
        assert_eq!(scenario.duration.0.as_millis(), 5000);
        assert_eq!(scenario.faults[0].at.0.as_millis(), 1000);
        assert_eq!(scenario.faults[0].lasts.unwrap().0.as_millis(), 2000);
        assert_eq!(scenario.faults[1].at.0.as_millis(), 4000);
        let kept = crate::scenario::FaultKind::Flap {
            every: steadfast_config::ConfigDuration::secs(1),
        };
        assert_eq!(scenario.faults[0].fault, kept);
    }

    #[test]
    fn refuses_unknown_keys_and_bad_values() {
        let typo = format!(
            "{BASE}faults: [{{ target: a, at: 1s, fault: {{ kind: hang, sttaus: 1 }} }}]\n"
        );
        assert!(Scenario::parse(&typo).is_err());
        let typo = format!(
            "{BASE}faults: [{{ target: a, at: 1s, fault: {{ kind: error, sttaus: 1 }} }}]\n"
        );
        assert!(Scenario::parse(&typo).is_err());
        let unknown =
            format!("{BASE}faults: [{{ target: zz, at: 1s, fault: {{ kind: refuse }} }}]\n");
        let error = Scenario::parse(&unknown).unwrap_err().to_string();
        assert!(error.contains("faults[0].target"), "{error}");
        let both = BASE.replace("rate: 10", "rate: 10, concurrency: 2");
        assert!(
            Scenario::parse(&both)
                .unwrap_err()
                .to_string()
                .contains("not both")
        );
    }
}
