//! `${NAME}` substitution from the environment, secrets that never print, and
//! the redaction of substituted values from error messages.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_yaml_ng::Value;

/// A value that must never appear in logs, errors, metrics or status output.
/// `Debug`, `Display` and `Serialize` all print `"***"`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

impl JsonSchema for Secret {
    fn schema_name() -> Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = String::json_schema(generator);
        schema.insert(
            "description".into(),
            "A secret; write it as \"${ENV_VAR}\" so it stays out of the file.".into(),
        );
        schema
    }
}

/// The values that `${NAME}` substitution put into a config, so error messages
/// can be scrubbed of them.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    values: Vec<(String, String)>,
}

impl Redactor {
    /// Replaces every substituted value in `text` by its `${NAME}`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (name, value) in &self.values {
            if value.len() >= 4 {
                text = text.replace(value.as_str(), &format!("${{{name}}}"));
            }
        }
        text
    }
}

/// Replaces `${NAME}` in every string of `value` with the environment variable
/// `NAME` (read through `lookup`). `$$` writes a literal `$`. Returns the values
/// substituted, or the key paths whose variables are missing or malformed.
pub(super) fn substitute(
    value: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Redactor, Vec<(String, String)>> {
    let mut redactor = Redactor::default();
    let mut errors = Vec::new();
    walk(value, String::new(), lookup, &mut redactor, &mut errors);
    if errors.is_empty() {
        Ok(redactor)
    } else {
        Err(errors)
    }
}

fn walk(
    value: &mut Value,
    path: String,
    lookup: &dyn Fn(&str) -> Option<String>,
    redactor: &mut Redactor,
    errors: &mut Vec<(String, String)>,
) {
    match value {
        Value::String(text) if text.contains('$') => match expand(text, lookup, redactor) {
            Ok(expanded) => *text = expanded,
            Err(reason) => errors.push((path, reason)),
        },
        Value::Mapping(map) => {
            for (key, child) in map.iter_mut() {
                let key = key
                    .as_str()
                    .map_or_else(|| format!("{key:?}"), str::to_owned);
                let child_path = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                walk(child, child_path, lookup, redactor, errors);
            }
        }
        Value::Sequence(items) => {
            for (index, child) in items.iter_mut().enumerate() {
                walk(child, format!("{path}[{index}]"), lookup, redactor, errors);
            }
        }
        Value::Tagged(tagged) => walk(&mut tagged.value, path, lookup, redactor, errors),
        _ => {}
    }
}

fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    redactor: &mut Redactor,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or_else(|| "unclosed \"${\": write ${NAME}".to_owned())?;
            let name = &after[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("{name:?} is not a valid environment variable name"));
            }
            let value =
                lookup(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
            out.push_str(&value);
            redactor.values.push((name.to_owned(), value));
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("sk-secret-123".into()),
            "HOST" => Some("example.com".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_and_reports_missing_with_paths() {
        let mut value: Value = serde_yaml_ng::from_str(
            "a: { key: \"${KEY}\", url: \"https://${HOST}/v1\", cost: \"$$5\" }\nb: [\"${NOPE}\"]",
        )
        .unwrap();
        let errors = substitute(&mut value.clone(), &env).unwrap_err();
        assert_eq!(
            errors,
            [(
                "b[0]".to_owned(),
                "environment variable NOPE is not set".to_owned()
            )]
        );
        value["b"] = Value::Sequence(vec![]);
        let redactor = substitute(&mut value, &env).unwrap();
        assert_eq!(value["a"]["key"].as_str(), Some("sk-secret-123"));
        assert_eq!(value["a"]["url"].as_str(), Some("https://example.com/v1"));
        assert_eq!(value["a"]["cost"].as_str(), Some("$5"));
        assert_eq!(
            redactor.redact("bad value sk-secret-123 here"),
            "bad value ${KEY} here"
        );
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("sk-live");
        assert_eq!(format!("{secret:?} {secret}"), "\"***\" ***");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"***\"");
        assert_eq!(secret.expose(), "sk-live");
    }
}
