//! The strategy settings that are not plain numbers, read once into typed
//! values: the failure kinds of `fallback_on` and the delay of
//! `hedge_after`. A config that loads holds only values the runtime can use.

use std::borrow::Cow;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use steadfast::FailureKind;

use super::duration::{format_duration, parse_duration};

/// A failure kind named in `fallback_on` (`rate_limited`, `context_length`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverKind(pub FailureKind);

impl Serialize for FailoverKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for FailoverKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        FailureKind::from_name(&name)
            .map(FailoverKind)
            .ok_or_else(|| {
                let known: Vec<&str> = FailureKind::ALL.iter().map(|k| k.as_str()).collect();
                de::Error::custom(format!(
                    "unknown failure kind {name:?}; known: {}",
                    known.join(", ")
                ))
            })
    }
}

impl JsonSchema for FailoverKind {
    fn schema_name() -> Cow<'static, str> {
        "FailureKind".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = FailureKind::ALL.iter().map(|k| k.as_str()).collect();
        json_schema!({
            "type": "string",
            "enum": names,
            "description": "A kind of failure."
        })
    }
}

/// When a hedged route starts its next target (`hedge_after`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HedgeAfter {
    /// After a fixed delay (`"300ms"`).
    Fixed(Duration),
    /// After this quantile (0 to 1) of the first target's recent latency (`"p95"`).
    Percentile(f64),
}

/// Parses `hedge_after`: a duration, or `pNN` (a percentile of recent latency).
pub fn parse_hedge_after(text: &str) -> Result<HedgeAfter, String> {
    if let Some(digits) = text.strip_prefix('p') {
        return match digits.parse::<f64>() {
            Ok(q) if q > 0.0 && q < 100.0 => Ok(HedgeAfter::Percentile(q / 100.0)),
            _ => Err(format!("{text:?} is not a percentile: write e.g. \"p95\"")),
        };
    }
    parse_duration(text).map(HedgeAfter::Fixed)
}

impl Serialize for HedgeAfter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            HedgeAfter::Fixed(delay) => serializer.serialize_str(&format_duration(*delay)),
            HedgeAfter::Percentile(q) => serializer.serialize_str(&format!("p{}", q * 100.0)),
        }
    }
}

impl<'de> Deserialize<'de> for HedgeAfter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = HedgeAfter;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration such as \"300ms\", or a percentile such as \"p95\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<HedgeAfter, E> {
                parse_hedge_after(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Text)
    }
}

impl JsonSchema for HedgeAfter {
    fn schema_name() -> Cow<'static, str> {
        "HedgeAfter".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|h)|p[0-9]+(\\.[0-9]+)?)$",
            "description": "A duration (\"300ms\") or a percentile of recent latency (\"p95\")."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_and_write_back_alike() {
        for text in ["\"300ms\"", "\"p95\"", "\"2s\""] {
            let after: HedgeAfter = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&after).unwrap(), text);
        }
        let kind: FailoverKind = serde_json::from_str("\"rate_limited\"").unwrap();
        assert_eq!(kind, FailoverKind(FailureKind::RateLimited));
        let refused = serde_json::from_str::<FailoverKind>("\"rate_limit\"").unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("unknown failure kind \"rate_limit\"; known: transient")
        );
        assert!(serde_json::from_str::<HedgeAfter>("\"p100\"").is_err());
    }
}
