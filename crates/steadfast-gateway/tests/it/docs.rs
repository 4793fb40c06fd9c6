//! The config reference (`docs/config.md`) documents every key of the config
//! schema, so the two cannot drift apart.

use std::collections::BTreeSet;

use serde_json::Value;

fn keys(schema: &Value, node: &Value, out: &mut BTreeSet<String>) {
    if let Some(reference) = node["$ref"].as_str() {
        let name = reference.trim_start_matches("#/$defs/");
        keys(schema, &schema["$defs"][name], out);
    }
    for combinator in ["anyOf", "oneOf", "allOf"] {
        for branch in node[combinator].as_array().into_iter().flatten() {
            keys(schema, branch, out);
        }
    }
    if let Some(properties) = node["properties"].as_object() {
        for (key, child) in properties {
            if out.insert(key.clone()) {
                keys(schema, child, out);
            }
        }
    }
    for nested in ["additionalProperties", "items"] {
        if node[nested].is_object() {
            keys(schema, &node[nested], out);
        }
    }
}

#[test]
fn every_schema_key_is_documented() {
    let schema: Value = serde_json::from_str(&steadfast_gateway_schema()).unwrap();
    let mut all = BTreeSet::new();
    keys(&schema, &schema, &mut all);
    assert!(
        all.contains("failure_rate") && all.contains("listen"),
        "{all:?}"
    );
    let reference =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.md"))
            .unwrap();
    let missing: Vec<&String> = all
        .iter()
        .filter(|key| !reference.contains(&format!("`{key}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/config.md does not document: {missing:?}"
    );
}

fn steadfast_gateway_schema() -> String {
    serde_json::to_string(&steadfast_config::json_schema()).unwrap()
}
