//! Responses API requests to and from the canonical [`ChatRequest`].

use serde_json::{Map, Value, json};

use crate::model::joined_text;
use crate::{
    ChatRequest, Image, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice, WireError,
};

/// The request fields a translation carries into another format; any other
/// is left behind (and the client told: `x-steadfast-dropped-fields`).
pub const CARRIED: &[&str] = &[
    "model",
    "input",
    "instructions",
    "max_output_tokens",
    "stream",
    "temperature",
    "top_p",
    "text",
    "tools",
    "tool_choice",
];

/// Reads a Responses API request.
pub fn parse_request(fields: &Map<String, Value>) -> Result<ChatRequest, WireError> {
    let mut request = ChatRequest {
        model: fields
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        max_tokens: fields.get("max_output_tokens").and_then(Value::as_u64),
        temperature: fields.get("temperature").and_then(Value::as_f64),
        top_p: fields.get("top_p").and_then(Value::as_f64),
        stream: fields.get("stream").and_then(Value::as_bool) == Some(true),
        stream_usage: true,
        ..ChatRequest::default()
    };
    if let Some(format) = fields.get("text").and_then(|text| text.get("format")) {
        request.response_format = ResponseFormat::read_openai(format, false, "text.format")?;
    }
    let mut system: Vec<String> = fields
        .get("instructions")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .into_iter()
        .collect();
    match fields.get("input") {
        Some(Value::String(text)) => request
            .messages
            .push(Message::new(Role::User, vec![Part::Text(text.clone())])),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                read_item(
                    item,
                    &format!("input[{i}]"),
                    &mut request.messages,
                    &mut system,
                )?;
            }
        }
        _ => return Err(WireError::new("input must be a string or an array.")),
    }
    request.system = (!system.is_empty()).then(|| system.join("\n\n"));
    for (i, tool) in fields
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        match tool["type"].as_str() {
            Some("function") => request.tools.push(Tool {
                name: text_field(tool, "name", &format!("tools[{i}]"))?.to_owned(),
                description: tool["description"].as_str().map(str::to_owned),
                parameters: tool
                    .get("parameters")
                    .filter(|p| !p.is_null())
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                strict: tool["strict"].as_bool(),
            }),
            other => {
                return Err(WireError::new(format!(
                    "tools[{i}]: tools of type {} cannot be translated.",
                    other.unwrap_or("?")
                )));
            }
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
            text_field(choice, "name", "tool_choice")?.to_owned(),
        )),
    };
    Ok(request)
}

/// One input item into the conversation (or the system prompt).
fn read_item(
    item: &Value,
    at: &str,
    messages: &mut Vec<Message>,
    system: &mut Vec<String>,
) -> Result<(), WireError> {
    match item["type"].as_str() {
        Some("function_call") => {
            let call = ToolCall {
                id: text_field(item, "call_id", at)?.to_owned(),
                name: text_field(item, "name", at)?.to_owned(),
                arguments: item["arguments"].as_str().unwrap_or("{}").to_owned(),
            };
            match messages.last_mut() {
                Some(last) if last.role == Role::Assistant => last.tool_calls.push(call),
                _ => messages.push(Message {
                    tool_calls: vec![call],
                    ..Message::new(Role::Assistant, Vec::new())
                }),
            }
        }
        Some("function_call_output") => {
            let output = match &item["output"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            messages.push(Message {
                tool_call_id: Some(text_field(item, "call_id", at)?.to_owned()),
                ..Message::new(Role::Tool, vec![Part::Text(output)])
            });
        }
        Some("reasoning") => {}
        None | Some("message") => {
            let content = parts(&item["content"], &format!("{at}.content"))?;
            match item["role"].as_str() {
                Some("system" | "developer") => system.push(joined_text(&content)),
                Some("user") => messages.push(Message::new(Role::User, content)),
                Some("assistant") => messages.push(Message::new(Role::Assistant, content)),
                _ => return Err(WireError::new(format!("{at}.role: unsupported role."))),
            }
        }
        Some(other) => {
            return Err(WireError::new(format!(
                "{at}: items of type {other} cannot be translated."
            )));
        }
    }
    Ok(())
}

/// A message's `content`: a string or an array of input and output parts.
fn parts(content: &Value, at: &str) -> Result<Vec<Part>, WireError> {
    match content {
        Value::String(text) => Ok(vec![Part::Text(text.clone())]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, part)| match part["type"].as_str() {
                Some("input_text" | "output_text" | "text") => Ok(Part::Text(
                    text_field(part, "text", &format!("{at}[{i}]"))?.to_owned(),
                )),
                Some("input_image") => {
                    let url = text_field(part, "image_url", &format!("{at}[{i}]"))?;
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

fn image_from_url(url: &str) -> Image {
    match url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"))
    {
        Some((media_type, data)) => Image::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        },
        None => Image::Url(url.to_owned()),
    }
}

fn text_field<'v>(value: &'v Value, key: &str, at: &str) -> Result<&'v str, WireError> {
    value[key]
        .as_str()
        .ok_or_else(|| WireError::new(format!("{at}.{key} must be a string.")))
}

/// Writes `request` as a Responses API request for `model`.
pub fn write_request(request: &ChatRequest, model: &str) -> Value {
    let mut input = Vec::new();
    for message in &request.messages {
        match message.role {
            Role::User => {
                input.push(json!({"role": "user", "content": write_parts(&message.content)}))
            }
            Role::Assistant => {
                let text = joined_text(&message.content);
                if !text.is_empty() {
                    input.push(json!({"role": "assistant", "content": text}));
                }
                input.extend(message.tool_calls.iter().map(|call| {
                    json!({"type": "function_call", "call_id": call.id, "name": call.name, "arguments": call.arguments})
                }));
            }
            Role::Tool => input.push(json!({
                "type": "function_call_output",
                "call_id": message.tool_call_id,
                "output": joined_text(&message.content),
            })),
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    out.insert("input".into(), input.into());
    out.insert("store".into(), false.into());
    if let Some(system) = &request.system {
        out.insert("instructions".into(), system.as_str().into());
    }
    if !request.tools.is_empty() {
        let tools = request.tools.iter().map(|tool| {
            // Unlike chat completions, the Responses API makes a function
            // strict unless told otherwise.
            json!({"type": "function", "name": tool.name, "description": tool.description,
                   "parameters": tool.parameters, "strict": tool.strict.unwrap_or(false)})
        });
        out.insert("tools".into(), tools.collect());
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Named(name) => json!({"type": "function", "name": name}),
        };
        out.insert("tool_choice".into(), choice);
    }
    let optional = [
        ("max_output_tokens", request.max_tokens.map(Value::from)),
        ("temperature", request.temperature.map(Value::from)),
        ("top_p", request.top_p.map(Value::from)),
    ];
    out.extend(
        optional
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_owned(), value?))),
    );
    if let Some(format) = &request.response_format {
        out.insert("text".into(), json!({"format": format.write_openai(false)}));
    }
    if request.stream {
        out.insert("stream".into(), true.into());
    }
    Value::Object(out)
}

fn write_parts(parts: &[Part]) -> Value {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => json!({"type": "input_text", "text": text}),
            Part::Image(Image::Url(url)) => json!({"type": "input_image", "image_url": url}),
            Part::Image(Image::Base64 { media_type, data }) => {
                json!({"type": "input_image", "image_url": format!("data:{media_type};base64,{data}")})
            }
        })
        .collect()
}
