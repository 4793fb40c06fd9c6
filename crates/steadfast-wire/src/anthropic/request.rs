//! Messages API requests to and from the canonical [`ChatRequest`].

use serde_json::{Map, Value, json};

use super::models;
use crate::{
    ChatRequest, Image, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice, WireError,
};

/// `max_tokens` sent when the client set none: Anthropic requires one, and
/// every current Claude model can write this many.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The request fields a translation carries into another format; any other
/// is left behind (and the client told: `x-steadfast-dropped-fields`).
pub const CARRIED: &[&str] = &[
    "model",
    "messages",
    "system",
    "max_tokens",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "output_config",
];

/// Reads a Messages API request.
pub fn parse_request(fields: &Map<String, Value>) -> Result<ChatRequest, WireError> {
    let mut request = ChatRequest {
        model: fields
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        max_tokens: fields.get("max_tokens").and_then(Value::as_u64),
        temperature: fields.get("temperature").and_then(Value::as_f64),
        top_p: fields.get("top_p").and_then(Value::as_f64),
        stream: fields.get("stream").and_then(Value::as_bool) == Some(true),
        stream_usage: true,
        stop: strings(fields.get("stop_sequences")),
        response_format: json_schema(fields),
        ..ChatRequest::default()
    };
    request.system = match fields.get("system") {
        None | Some(Value::Null) => None,
        Some(Value::String(system)) => Some(system.clone()),
        Some(blocks) => Some(
            blocks
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|block| block["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
        ),
    };
    let messages = fields.get("messages").and_then(Value::as_array);
    for (i, message) in messages.into_iter().flatten().enumerate() {
        let at = format!("messages.{i}");
        match message["role"].as_str() {
            Some("user") => user_messages(&message["content"], &at, &mut request.messages)?,
            Some("assistant") => request
                .messages
                .push(assistant_message(&message["content"], &at)?),
            _ => {
                return Err(WireError::new(format!(
                    "{at}.role: must be \"user\" or \"assistant\"."
                )));
            }
        }
    }
    for (i, tool) in fields
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if tool
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind != "custom")
        {
            return Err(WireError::new(format!(
                "tools.{i}: server tools cannot be translated."
            )));
        }
        request.tools.push(Tool {
            name: tool["name"]
                .as_str()
                .ok_or_else(|| WireError::new(format!("tools.{i}.name: Field required")))?
                .to_owned(),
            description: tool["description"].as_str().map(str::to_owned),
            parameters: tool
                .get("input_schema")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"})),
            strict: tool["strict"].as_bool(),
        });
    }
    request.tool_choice =
        fields
            .get("tool_choice")
            .and_then(|choice| match choice["type"].as_str()? {
                "none" => Some(ToolChoice::None),
                "any" => Some(ToolChoice::Required),
                "tool" => Some(ToolChoice::Named(choice["name"].as_str()?.to_owned())),
                _ => Some(ToolChoice::Auto),
            });
    Ok(request)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// The content of a message as blocks (a string is one text block).
fn blocks(content: &Value, at: &str) -> Result<Vec<Value>, WireError> {
    match content {
        Value::String(text) => Ok(vec![json!({"type": "text", "text": text})]),
        Value::Array(blocks) => Ok(blocks.clone()),
        _ => Err(WireError::new(format!(
            "{at}.content: must be a string or a list of blocks."
        ))),
    }
}

/// A text or image block as a part; other blocks as `None` (thinking) or an error.
fn part(block: &Value, at: &str) -> Result<Option<Part>, WireError> {
    match block["type"].as_str() {
        Some("text") => Ok(Some(Part::Text(
            block["text"].as_str().unwrap_or_default().to_owned(),
        ))),
        Some("image") => {
            let source = &block["source"];
            let image = match source["type"].as_str() {
                Some("base64") => Image::Base64 {
                    media_type: source["media_type"]
                        .as_str()
                        .unwrap_or("image/png")
                        .to_owned(),
                    data: source["data"].as_str().unwrap_or_default().to_owned(),
                },
                Some("url") => Image::Url(source["url"].as_str().unwrap_or_default().to_owned()),
                _ => {
                    return Err(WireError::new(format!(
                        "{at}.source: this image source cannot be translated."
                    )));
                }
            };
            Ok(Some(Part::Image(image)))
        }
        Some("thinking" | "redacted_thinking") => Ok(None),
        _ => Err(WireError::new(format!(
            "{at}: this kind of block cannot be translated."
        ))),
    }
}

/// A user message: one tool message per `tool_result` block, then the rest.
fn user_messages(content: &Value, at: &str, out: &mut Vec<Message>) -> Result<(), WireError> {
    let mut rest = Vec::new();
    for (j, block) in blocks(content, at)?.iter().enumerate() {
        let at = format!("{at}.content.{j}");
        if block["type"] == "tool_result" {
            let content = match block.get("content") {
                None | Some(Value::Null) => Vec::new(),
                Some(content) => blocks(content, &at)?
                    .iter()
                    .filter_map(|inner| part(inner, &at).transpose())
                    .collect::<Result<_, _>>()?,
            };
            out.push(Message {
                tool_call_id: block["tool_use_id"].as_str().map(str::to_owned),
                ..Message::new(Role::Tool, content)
            });
        } else if let Some(part) = part(block, &at)? {
            rest.push(part);
        }
    }
    if !rest.is_empty() {
        out.push(Message::new(Role::User, rest));
    }
    Ok(())
}

fn assistant_message(content: &Value, at: &str) -> Result<Message, WireError> {
    let mut message = Message::new(Role::Assistant, Vec::new());
    for (j, block) in blocks(content, at)?.iter().enumerate() {
        if block["type"] == "tool_use" {
            message.tool_calls.push(ToolCall {
                id: block["id"].as_str().unwrap_or_default().to_owned(),
                name: block["name"].as_str().unwrap_or_default().to_owned(),
                arguments: block
                    .get("input")
                    .map_or_else(|| "{}".to_owned(), Value::to_string),
            });
        } else if let Some(part) = part(block, &format!("{at}.content.{j}"))? {
            message.content.push(part);
        }
    }
    Ok(message)
}

/// Writes `request` as a Messages API request for `model`: tool results go
/// into user turns, consecutive turns of one role are merged, a missing
/// `max_tokens` becomes [`DEFAULT_MAX_TOKENS`] and the temperature is held to
/// Anthropic's range of 0 to 1.
pub fn write_request(request: &ChatRequest, model: &str) -> Value {
    let mut messages: Vec<Value> = Vec::new();
    for message in &request.messages {
        let (role, content) = match message.role {
            Role::User => ("user", write_parts(&message.content)),
            Role::Tool => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id,
                    "content": write_parts(&message.content),
                })],
            ),
            Role::Assistant => {
                let mut content = write_parts(&message.content);
                content.extend(message.tool_calls.iter().map(|call| {
                    let input = serde_json::from_str::<Value>(&call.arguments)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input})
                }));
                ("assistant", content)
            }
        };
        if content.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last["role"] == role => {
                if let Some(blocks) = last["content"].as_array_mut() {
                    blocks.extend(content);
                }
            }
            _ => messages.push(json!({"role": role, "content": content})),
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    out.insert(
        "max_tokens".into(),
        request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS).into(),
    );
    if let Some(system) = &request.system {
        out.insert("system".into(), system.as_str().into());
    }
    out.insert("messages".into(), messages.into());
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(|tool| {
            let mut out = json!({"name": tool.name, "input_schema": tool.parameters});
            if let Some(description) = &tool.description {
                out["description"] = description.as_str().into();
            }
            out
        });
        out.insert("tools".into(), tools.collect());
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ToolChoice::Auto => json!({"type": "auto"}),
            ToolChoice::None => json!({"type": "none"}),
            ToolChoice::Required => json!({"type": "any"}),
            ToolChoice::Named(name) => json!({"type": "tool", "name": name}),
        };
        out.insert("tool_choice".into(), choice);
    }
    // Structured outputs, for the models that take them (`cannot_take`
    // passes the others over).
    if let (Some(ResponseFormat::JsonSchema { schema, .. }), true) =
        (&request.response_format, models::takes_json_schema(model))
    {
        out.insert(
            "output_config".into(),
            json!({"format": {"type": "json_schema", "schema": schema}}),
        );
    }
    let optional = [
        (
            "temperature",
            request.temperature.map(|t| Value::from(t.clamp(0.0, 1.0))),
        ),
        ("top_p", request.top_p.map(Value::from)),
        (
            "stop_sequences",
            (!request.stop.is_empty()).then(|| request.stop.clone().into()),
        ),
        ("stream", request.stream.then_some(Value::Bool(true))),
    ];
    out.extend(
        optional
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_owned(), value?))),
    );
    Value::Object(out)
}

/// The JSON schema a request asks its answer to follow
/// (`output_config.format`, structured outputs), if any.
fn json_schema(fields: &Map<String, Value>) -> Option<ResponseFormat> {
    let format = fields.get("output_config")?.get("format")?;
    (format["type"] == "json_schema").then(|| ResponseFormat::JsonSchema {
        name: "output".to_owned(),
        schema: format["schema"].clone(),
        strict: None,
    })
}

/// Parts as content blocks; empty text is left out, as Anthropic refuses it.
fn write_parts(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|part| match part {
            Part::Text(text) if text.is_empty() => None,
            Part::Text(text) => Some(json!({"type": "text", "text": text})),
            Part::Image(Image::Url(url)) => {
                Some(json!({"type": "image", "source": {"type": "url", "url": url}}))
            }
            Part::Image(Image::Base64 { media_type, data }) => Some(json!({
                "type": "image",
                "source": {"type": "base64", "media_type": media_type, "data": data},
            })),
        })
        .collect()
}
