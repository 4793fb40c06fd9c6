//! Converse requests to and from the canonical [`ChatRequest`].

use serde_json::{Map, Value, json};

use crate::model::joined_text;
use crate::{ChatRequest, Image, Message, Part, Role, Tool, ToolCall, ToolChoice, WireError};

/// Writes `request` as a Converse request (the model goes in the URL).
/// Bedrock takes images as bytes only: an image given by URL is named in a
/// text block instead. The temperature is held to 1, the most the models
/// Bedrock serves (Claude, Llama, Mistral, Nova, Titan) accept.
pub fn write_request(request: &ChatRequest, _model: &str) -> Value {
    let mut messages: Vec<Value> = Vec::new();
    for message in &request.messages {
        let (role, content) = match message.role {
            Role::User => ("user", write_parts(&message.content)),
            Role::Assistant => {
                let mut content = write_parts(&message.content);
                content.extend(message.tool_calls.iter().map(|call| {
                    let input = serde_json::from_str::<Value>(&call.arguments)
                        .unwrap_or_else(|_| json!({}));
                    json!({"toolUse": {"toolUseId": call.id, "name": call.name, "input": input}})
                }));
                ("assistant", content)
            }
            Role::Tool => {
                let text = joined_text(&message.content);
                let result = match serde_json::from_str::<Value>(&text) {
                    Ok(object @ Value::Object(_)) => json!({"json": object}),
                    _ => json!({"text": text}),
                };
                let block =
                    json!({"toolResult": {"toolUseId": message.tool_call_id, "content": [result]}});
                ("user", vec![block])
            }
        };
        // Bedrock alternates user and assistant turns: tool results and the
        // user's next words are one turn.
        match messages.last_mut() {
            Some(last) if last["role"] == role => {
                if let Some(existing) = last["content"].as_array_mut() {
                    existing.extend(content);
                }
            }
            _ => messages.push(json!({"role": role, "content": content})),
        }
    }
    let mut out = Map::new();
    out.insert("messages".into(), messages.into());
    if let Some(system) = &request.system {
        out.insert("system".into(), json!([{"text": system}]));
    }
    let mut inference = Map::new();
    let settings = [
        ("maxTokens", request.max_tokens.map(Value::from)),
        (
            "temperature",
            request.temperature.map(|t| Value::from(t.clamp(0.0, 1.0))),
        ),
        ("topP", request.top_p.map(Value::from)),
        (
            "stopSequences",
            (!request.stop.is_empty()).then(|| request.stop.clone().into()),
        ),
    ];
    inference.extend(
        settings
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_owned(), value?))),
    );
    if !inference.is_empty() {
        out.insert("inferenceConfig".into(), Value::Object(inference));
    }
    // Tools offered with no choice said are left to the model (Converse's
    // default): `toolChoice` is accepted by some model families only, so it
    // is sent only when the client chose; `none` offers no tools at all.
    let choice = match &request.tool_choice {
        Some(ToolChoice::None) => return Value::Object(out),
        Some(ToolChoice::Required) => Some(json!({"any": {}})),
        Some(ToolChoice::Named(name)) => Some(json!({"tool": {"name": name}})),
        Some(ToolChoice::Auto) => Some(json!({"auto": {}})),
        None => None,
    };
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                let mut spec = json!({"name": tool.name, "inputSchema": {"json": tool.parameters}});
                if let Some(description) = &tool.description {
                    spec["description"] = description.as_str().into();
                }
                json!({"toolSpec": spec})
            })
            .collect();
        let mut config = json!({"tools": tools});
        if let Some(choice) = choice {
            config["toolChoice"] = choice;
        }
        out.insert("toolConfig".into(), config);
    }
    Value::Object(out)
}

/// Parts as content blocks; blank text is left out, as Bedrock refuses it
/// ("The text field in the ContentBlock object … is blank") — an OpenAI
/// client replaying a tool call sends its turn's `content` as `""`.
fn write_parts(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|part| match part {
            Part::Text(text) if text.trim().is_empty() => None,
            Part::Text(text) => Some(json!({"text": text})),
            Part::Image(Image::Base64 { media_type, data }) => {
                let format = media_type.strip_prefix("image/").unwrap_or("png");
                Some(json!({"image": {"format": format, "source": {"bytes": data}}}))
            }
            Part::Image(Image::Url(url)) => Some(json!({"text": format!("[image: {url}]")})),
        })
        .collect()
}

/// Reads a Converse request (for clients that speak Converse).
pub fn parse_request(fields: &Map<String, Value>) -> Result<ChatRequest, WireError> {
    let inference = fields.get("inferenceConfig").cloned().unwrap_or_default();
    let mut request = ChatRequest {
        max_tokens: inference["maxTokens"].as_u64(),
        temperature: inference["temperature"].as_f64(),
        top_p: inference["topP"].as_f64(),
        stop: inference["stopSequences"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        system: fields
            .get("system")
            .and_then(Value::as_array)
            .map(|blocks| {
                blocks
                    .iter()
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        ..ChatRequest::default()
    };
    let messages = fields
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| WireError::new("messages must be an array."))?;
    for (i, message) in messages.iter().enumerate() {
        let role = match message["role"].as_str() {
            Some("assistant") => Role::Assistant,
            Some("user") => Role::User,
            _ => {
                return Err(WireError::new(format!(
                    "messages[{i}].role: unsupported role."
                )));
            }
        };
        let mut out = Message::new(role, Vec::new());
        for block in message["content"].as_array().into_iter().flatten() {
            if let Some(text) = block["text"].as_str() {
                out.content.push(Part::Text(text.to_owned()));
            } else if let Some(call) = block.get("toolUse") {
                out.tool_calls.push(ToolCall {
                    id: call["toolUseId"].as_str().unwrap_or_default().to_owned(),
                    name: call["name"].as_str().unwrap_or_default().to_owned(),
                    arguments: call["input"].to_string(),
                });
            } else if let Some(result) = block.get("toolResult") {
                let text = result["content"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        c["text"]
                            .as_str()
                            .map_or_else(|| c["json"].to_string(), str::to_owned)
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                request.messages.push(Message {
                    tool_call_id: result["toolUseId"].as_str().map(str::to_owned),
                    ..Message::new(Role::Tool, vec![Part::Text(text)])
                });
            }
        }
        if !out.content.is_empty() || !out.tool_calls.is_empty() {
            request.messages.push(out);
        }
    }
    for tool in fields
        .get("toolConfig")
        .and_then(|config| config["tools"].as_array())
        .into_iter()
        .flatten()
    {
        let spec = &tool["toolSpec"];
        request.tools.push(Tool {
            name: spec["name"].as_str().unwrap_or_default().to_owned(),
            description: spec["description"].as_str().map(str::to_owned),
            parameters: spec["inputSchema"]["json"].clone(),
            strict: None,
        });
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{Message, Role, Tool};

    fn with_tools(choice: Option<ToolChoice>) -> Value {
        let request = ChatRequest {
            messages: vec![Message::new(Role::User, vec![Part::Text("hi".into())])],
            tools: vec![Tool {
                name: "weather".into(),
                description: None,
                parameters: json!({"type": "object"}),
                strict: None,
            }],
            tool_choice: choice,
            ..ChatRequest::default()
        };
        write_request(&request, "meta.llama3-70b-instruct-v1:0")
    }

    #[test]
    fn tool_choice_is_sent_only_when_the_client_chose() {
        let said_nothing = with_tools(None);
        assert!(said_nothing["toolConfig"]["tools"].is_array());
        assert!(
            said_nothing["toolConfig"].get("toolChoice").is_none(),
            "{said_nothing}"
        );
        assert_eq!(
            with_tools(Some(ToolChoice::Required))["toolConfig"]["toolChoice"],
            json!({"any": {}})
        );
        assert!(
            with_tools(Some(ToolChoice::None))
                .get("toolConfig")
                .is_none()
        );
    }

    #[test]
    fn blank_text_is_never_written() {
        let request = ChatRequest {
            messages: vec![
                Message::new(Role::User, vec![Part::Text("hi".into())]),
                Message {
                    tool_calls: vec![crate::ToolCall {
                        id: "call_1".into(),
                        name: "weather".into(),
                        arguments: "{}".into(),
                    }],
                    ..Message::new(Role::Assistant, vec![Part::Text(String::new())])
                },
            ],
            ..ChatRequest::default()
        };
        let written = write_request(&request, "anthropic.claude-3-haiku");
        assert!(!written.to_string().contains(r#""text":"""#), "{written}");
    }
}
