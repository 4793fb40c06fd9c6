//! OpenAI chat completion requests to and from the canonical [`ChatRequest`].

use serde_json::{Map, Value, json};

use crate::model::joined_text;
use crate::{
    ChatRequest, Image, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice, WireError,
};

/// The request fields a translation carries into another format; any other
/// is left behind (and the client told: `x-steadfast-dropped-fields`).
pub const CARRIED: &[&str] = &[
    "model",
    "messages",
    "max_completion_tokens",
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "stream",
    "stream_options",
    "n",
    "response_format",
    "tools",
    "tool_choice",
];

/// Reads an OpenAI chat completion request.
pub fn parse_request(fields: &Map<String, Value>) -> Result<ChatRequest, WireError> {
    let mut request = ChatRequest {
        model: fields
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        max_tokens: ["max_completion_tokens", "max_tokens"]
            .iter()
            .find_map(|key| fields.get(*key).and_then(Value::as_u64)),
        temperature: fields.get("temperature").and_then(Value::as_f64),
        top_p: fields.get("top_p").and_then(Value::as_f64),
        stream: fields.get("stream").and_then(Value::as_bool) == Some(true),
        stream_usage: fields
            .get("stream_options")
            .and_then(|options| options["include_usage"].as_bool())
            == Some(true),
        ..ChatRequest::default()
    };
    if fields
        .get("n")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 1)
    {
        return Err(WireError::new("'n' greater than 1 cannot be translated."));
    }
    if let Some(format) = fields.get("response_format") {
        request.response_format = ResponseFormat::read_openai(format, true, "response_format")?;
    }
    request.stop = match fields.get("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(stop)) => vec![stop.clone()],
        Some(Value::Array(stops)) => stops
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err(WireError::new("'stop' must be a string or an array.")),
    };
    let mut system = Vec::new();
    let messages = fields.get("messages").and_then(Value::as_array);
    for (i, message) in messages.into_iter().flatten().enumerate() {
        let at = |what: &str| format!("messages[{i}]{what}");
        let content = parts(&message["content"], &at(".content"))?;
        match message["role"].as_str() {
            Some("system" | "developer") => system.push(joined_text(&content)),
            Some("user") => request.messages.push(Message::new(Role::User, content)),
            Some("assistant") => request.messages.push(Message {
                tool_calls: tool_calls(&message["tool_calls"], &at(".tool_calls"))?,
                ..Message::new(Role::Assistant, content)
            }),
            Some("tool") => request.messages.push(Message {
                tool_call_id: Some(required_str(message, "tool_call_id", &at(""))?.to_owned()),
                ..Message::new(Role::Tool, content)
            }),
            _ => {
                return Err(WireError::new(format!(
                    "{}: unsupported role.",
                    at(".role")
                )));
            }
        }
    }
    request.system = (!system.is_empty()).then(|| system.join("\n\n"));
    if let Some(tools) = fields.get("tools").and_then(Value::as_array) {
        for (i, tool) in tools.iter().enumerate() {
            let function = &tool["function"];
            request.tools.push(Tool {
                name: required_str(function, "name", &format!("tools[{i}].function"))?.to_owned(),
                description: function["description"].as_str().map(str::to_owned),
                parameters: function
                    .get("parameters")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                strict: function["strict"].as_bool(),
            });
        }
    }
    request.tool_choice = match fields.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(choice)) => Some(match choice.as_str() {
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            _ => ToolChoice::Auto,
        }),
        Some(choice) => Some(ToolChoice::Named(
            required_str(&choice["function"], "name", "tool_choice.function")?.to_owned(),
        )),
    };
    Ok(request)
}

fn required_str<'v>(value: &'v Value, key: &str, at: &str) -> Result<&'v str, WireError> {
    value[key]
        .as_str()
        .ok_or_else(|| WireError::new(format!("{at}.{key} must be a string.")))
}

/// The parts of an OpenAI `content`: a string, null, or an array of parts.
fn parts(content: &Value, at: &str) -> Result<Vec<Part>, WireError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(text) => Ok(vec![Part::Text(text.clone())]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item["type"].as_str() {
                Some("text") => Ok(Part::Text(
                    required_str(item, "text", &format!("{at}[{i}]"))?.to_owned(),
                )),
                Some("image_url") => {
                    let url =
                        required_str(&item["image_url"], "url", &format!("{at}[{i}].image_url"))?;
                    Ok(Part::Image(image_from_url(url)))
                }
                _ => Err(WireError::new(format!(
                    "{at}[{i}]: this kind of content cannot be translated."
                ))),
            })
            .collect(),
        _ => Err(WireError::new(format!(
            "{at} must be a string or an array."
        ))),
    }
}

/// A `data:` URL becomes an inline image, any other URL stays a URL.
fn image_from_url(url: &str) -> Image {
    let inline = url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"));
    match inline {
        Some((media_type, data)) => Image::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        },
        None => Image::Url(url.to_owned()),
    }
}

fn tool_calls(calls: &Value, at: &str) -> Result<Vec<ToolCall>, WireError> {
    let Some(calls) = calls.as_array() else {
        return Ok(Vec::new());
    };
    calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let at = format!("{at}[{i}]");
            Ok(ToolCall {
                id: required_str(call, "id", &at)?.to_owned(),
                name: required_str(&call["function"], "name", &format!("{at}.function"))?
                    .to_owned(),
                arguments: call["function"]["arguments"]
                    .as_str()
                    .unwrap_or("{}")
                    .to_owned(),
            })
        })
        .collect()
}

/// Writes `request` as an OpenAI chat completion request for `model`. A
/// streamed request always asks for usage, which the gateway needs.
pub fn write_request(request: &ChatRequest, model: &str) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = &request.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for message in &request.messages {
        messages.push(match message.role {
            Role::User => json!({"role": "user", "content": write_parts(&message.content)}),
            Role::Assistant => {
                let text = joined_text(&message.content);
                let mut out = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { Value::String(text) }});
                if !message.tool_calls.is_empty() {
                    out["tool_calls"] = message
                        .tool_calls
                        .iter()
                        .map(|call| json!({"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}))
                        .collect();
                }
                out
            }
            Role::Tool => json!({"role": "tool", "tool_call_id": message.tool_call_id, "content": joined_text(&message.content)}),
        });
    }
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    out.insert("messages".into(), messages.into());
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(|tool| {
            let mut function = json!({"name": tool.name, "parameters": tool.parameters});
            if let Some(description) = &tool.description {
                function["description"] = description.as_str().into();
            }
            if let Some(strict) = tool.strict {
                function["strict"] = strict.into();
            }
            json!({"type": "function", "function": function})
        });
        out.insert("tools".into(), tools.collect());
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Named(name) => json!({"type": "function", "function": {"name": name}}),
        };
        out.insert("tool_choice".into(), choice);
    }
    let optional = [
        ("max_tokens", request.max_tokens.map(Value::from)),
        ("temperature", request.temperature.map(Value::from)),
        ("top_p", request.top_p.map(Value::from)),
        (
            "stop",
            (!request.stop.is_empty()).then(|| request.stop.clone().into()),
        ),
    ];
    out.extend(
        optional
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_owned(), value?))),
    );
    if let Some(format) = &request.response_format {
        out.insert("response_format".into(), format.write_openai(true));
    }
    if request.stream {
        out.insert("stream".into(), true.into());
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(out)
}

/// A lone text part as a string, anything else as an array of parts.
fn write_parts(parts: &[Part]) -> Value {
    if let [Part::Text(text)] = parts {
        return text.as_str().into();
    }
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => json!({"type": "text", "text": text}),
            Part::Image(Image::Url(url)) => json!({"type": "image_url", "image_url": {"url": url}}),
            Part::Image(Image::Base64 { media_type, data }) => {
                json!({"type": "image_url", "image_url": {"url": format!("data:{media_type};base64,{data}")}})
            }
        })
        .collect()
}
