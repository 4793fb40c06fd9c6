//! A gateway target as the config makes it, for the benches and the
//! allocation test (which includes this file by path).

use std::sync::Arc;

use steadfast::events::Events;
use steadfast::health::{HealthState, OutlierConfig};
use steadfast_proxy::runtime::Target;
use steadfast_proxy::upstream::Provider;

/// Model `name` on an OpenAI provider (never called), with `settings` (JSON
/// of `models.<name>` keys, e.g. `max_concurrency`) added.
pub(crate) fn gateway_target(name: &str, settings: serde_json::Value) -> Arc<Target> {
    let provider = serde_json::from_value(
        serde_json::json!({"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}),
    )
    .unwrap();
    let mut model = serde_json::json!({"provider": "p", "model": name});
    if let (Some(model), Some(settings)) = (model.as_object_mut(), settings.as_object()) {
        model.extend(settings.clone());
    }
    let model = serde_json::from_value(model).unwrap();
    let health = HealthState::new(name, Events::none(), OutlierConfig::disabled());
    let provider = Arc::new(Provider::from_config("p", &provider).unwrap());
    Arc::new(Target::new(
        name,
        &model,
        provider,
        health,
        &Events::none(),
        None,
    ))
}
