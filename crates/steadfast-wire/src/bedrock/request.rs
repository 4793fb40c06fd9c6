//! Converse requests to and from the canonical [`ChatRequest`].

use serde_json::{Map, Value, json};

use super::Family;
use crate::model::joined_text;
use crate::{
    ChatRequest, Image, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice, WireError,
};

/// Writes `request` as a Converse request for `model` (which goes in the
/// URL), by its family's rules ([`Family`]). Bedrock takes images as bytes
/// only: an image given by URL is named in a text block instead. The
/// temperature is held to 1, the most the models Bedrock serves (Claude,
/// Llama, Mistral, Nova, Titan) accept.
pub fn write_request(request: &ChatRequest, model: &str) -> Value {
    let family = Family::of(model);
    let offers_tools = offers_tools(request);
    let mut messages: Vec<Value> = Vec::new();
    for message in &request.messages {
        let (role, content) = turn(message, offers_tools);
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
    if offers_tools {
        out.insert("toolConfig".into(), tool_config(request));
    }
    if let (Some(ResponseFormat::JsonSchema { name, schema, .. }), true) =
        (&request.response_format, family.structured_output)
    {
        let structure = json!({"jsonSchema": {"schema": schema.to_string(), "name": name}});
        out.insert(
            "outputConfig".into(),
            json!({"textFormat": {"type": "json_schema", "structure": structure}}),
        );
    }
    Value::Object(out)
}

/// Why `request` cannot go to `model` by its family's rules
/// ([`Family`]), if it cannot: a tool choice the family does not take, tool
/// results and the user's words in one turn where the family refuses that,
/// or a response format it cannot be asked for.
pub fn cannot_take(request: &ChatRequest, model: &str) -> Option<String> {
    let family = Family::of(model);
    let name = family.name;
    if offers_tools(request) {
        match &request.tool_choice {
            Some(ToolChoice::Required) if !family.forces_any_tool => {
                return Some(format!(
                    "{name} models on Bedrock cannot be made to call a tool (tool_choice required)"
                ));
            }
            Some(ToolChoice::Named(_)) if !family.forces_named_tool => {
                return Some(format!(
                    "{name} models on Bedrock cannot be made to call a named tool"
                ));
            }
            _ => {}
        }
        let mixed = request.messages.windows(2).any(|pair| {
            matches!(
                (pair[0].role, pair[1].role),
                (Role::Tool, Role::User) | (Role::User, Role::Tool)
            )
        });
        if mixed && !family.mixes_tool_results {
            return Some(format!(
                "{name} models on Bedrock take no other words in the turn of tool results"
            ));
        }
    }
    match &request.response_format {
        Some(ResponseFormat::JsonObject) => Some(
            "a JSON response format without a schema has no counterpart in Bedrock's \
                 Converse (its structured output takes a JSON schema)"
                .to_owned(),
        ),
        Some(ResponseFormat::JsonSchema { .. }) if !family.structured_output => Some(format!(
            "{name} models on Bedrock take no JSON schema for their answer (Claude 4.5 and later do)"
        )),
        _ => None,
    }
}

/// Whether the request offers the model tools: Converse has no choice of
/// none, so `none` offers no tools at all.
fn offers_tools(request: &ChatRequest) -> bool {
    !request.tools.is_empty() && request.tool_choice != Some(ToolChoice::None)
}

/// The tools and, when the client chose one, the tool choice: Converse's
/// default is `auto` and some families take no `toolChoice` at all, so
/// `auto` is never said.
fn tool_config(request: &ChatRequest) -> Value {
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
    match &request.tool_choice {
        Some(ToolChoice::Required) => config["toolChoice"] = json!({"any": {}}),
        Some(ToolChoice::Named(name)) => config["toolChoice"] = json!({"tool": {"name": name}}),
        Some(ToolChoice::Auto | ToolChoice::None) | None => {}
    }
    config
}

/// A message as a Converse turn: its role and content blocks. Converse
/// refuses `toolUse` and `toolResult` blocks in a request that offers no
/// tools ("The toolConfig field must be defined when using toolUse and
/// toolResult content blocks"), so without tools (none given, or
/// `tool_choice: none`) the conversation's tool calls and results are told
/// in text blocks instead.
fn turn(message: &Message, offers_tools: bool) -> (&'static str, Vec<Value>) {
    match message.role {
        Role::User => ("user", write_parts(&message.content)),
        Role::Assistant => {
            let mut content = write_parts(&message.content);
            content.extend(message.tool_calls.iter().map(|call| {
                if !offers_tools {
                    let told =
                        format!("[tool call {}: {}({})]", call.id, call.name, call.arguments);
                    return json!({"text": told});
                }
                let input =
                    serde_json::from_str::<Value>(&call.arguments).unwrap_or_else(|_| json!({}));
                json!({"toolUse": {"toolUseId": call.id, "name": call.name, "input": input}})
            }));
            ("assistant", content)
        }
        Role::Tool => {
            let text = joined_text(&message.content);
            let id = message.tool_call_id.as_deref().unwrap_or_default();
            if !offers_tools {
                return (
                    "user",
                    vec![json!({"text": format!("[tool result {id}: {text}]")})],
                );
            }
            let result = match serde_json::from_str::<Value>(&text) {
                Ok(object @ Value::Object(_)) => json!({"json": object}),
                _ if text.trim().is_empty() => json!({"text": "(empty)"}),
                _ => json!({"text": text}),
            };
            let block = json!({"toolResult": {"toolUseId": id, "content": [result]}});
            ("user", vec![block])
        }
    }
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

    /// A replayed tool conversation: the user asks, the assistant calls
    /// `weather` (with OpenAI's blank content), the result comes back, and
    /// (with `follow_up`) the user speaks again.
    fn conversation(choice: Option<ToolChoice>, follow_up: bool) -> ChatRequest {
        let mut messages = vec![
            Message::new(Role::User, vec![Part::Text("hi".into())]),
            Message {
                tool_calls: vec![ToolCall {
                    id: "call_1".into(),
                    name: "weather".into(),
                    arguments: r#"{"city":"Oslo"}"#.into(),
                }],
                ..Message::new(Role::Assistant, vec![Part::Text(String::new())])
            },
            Message {
                tool_call_id: Some("call_1".into()),
                ..Message::new(Role::Tool, vec![Part::Text("sunny".into())])
            },
        ];
        if follow_up {
            messages.push(Message::new(Role::User, vec![Part::Text("thanks".into())]));
        }
        ChatRequest {
            messages,
            tools: vec![Tool {
                name: "weather".into(),
                description: None,
                parameters: json!({"type": "object"}),
                strict: None,
            }],
            tool_choice: choice,
            ..ChatRequest::default()
        }
    }

    const CLAUDE: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    const LLAMA: &str = "meta.llama3-3-70b-instruct-v1:0";
    const NOVA: &str = "amazon.nova-pro-v1:0";
    const MISTRAL: &str = "mistral.mistral-large-2407-v1:0";

    #[test]
    fn tool_choice_is_sent_only_when_the_client_forced_one() {
        for choice in [None, Some(ToolChoice::Auto)] {
            let written = write_request(&conversation(choice, false), LLAMA);
            assert!(written["toolConfig"]["tools"].is_array());
            assert!(
                written["toolConfig"].get("toolChoice").is_none(),
                "{written}"
            );
        }
        let forced = write_request(&conversation(Some(ToolChoice::Required), false), CLAUDE);
        assert_eq!(forced["toolConfig"]["toolChoice"], json!({"any": {}}));
        let named = conversation(Some(ToolChoice::Named("weather".into())), false);
        assert_eq!(
            write_request(&named, NOVA)["toolConfig"]["toolChoice"],
            json!({"tool": {"name": "weather"}})
        );
    }

    #[test]
    fn forced_tool_choices_go_only_to_families_that_take_them() {
        let required = conversation(Some(ToolChoice::Required), false);
        assert_eq!(cannot_take(&required, CLAUDE), None);
        assert_eq!(cannot_take(&required, MISTRAL), None);
        for model in [LLAMA, NOVA] {
            let why = cannot_take(&required, model).unwrap();
            assert!(why.contains("cannot be made to call a tool"), "{why}");
        }
        let named = conversation(Some(ToolChoice::Named("weather".into())), false);
        assert_eq!(cannot_take(&named, CLAUDE), None);
        assert_eq!(cannot_take(&named, NOVA), None);
        for model in [LLAMA, MISTRAL, "deepseek.r1-v1:0"] {
            assert!(cannot_take(&named, model).is_some(), "{model}");
        }
    }

    #[test]
    fn tool_results_share_a_turn_with_words_only_where_the_family_allows() {
        let follow_up = conversation(None, true);
        let written = write_request(&follow_up, CLAUDE);
        let last = &written["messages"][2];
        assert_eq!(last["content"][0]["toolResult"]["toolUseId"], "call_1");
        assert_eq!(last["content"][1]["text"], "thanks");
        assert_eq!(written["messages"].as_array().unwrap().len(), 3);
        assert_eq!(cannot_take(&follow_up, CLAUDE), None);
        for model in [LLAMA, MISTRAL] {
            let why = cannot_take(&follow_up, model).unwrap();
            assert!(why.contains("turn of tool results"), "{why}");
        }
        assert_eq!(cannot_take(&conversation(None, false), LLAMA), None);
    }

    #[test]
    fn without_tools_the_conversation_tells_its_tool_turns_in_words() {
        let mut request = conversation(Some(ToolChoice::None), true);
        let written = write_request(&request, LLAMA);
        assert!(written.get("toolConfig").is_none(), "{written}");
        let text = written["messages"].to_string();
        assert!(
            !text.contains("toolUse") && !text.contains("toolResult"),
            "{text}"
        );
        assert_eq!(
            written["messages"][1]["content"],
            json!([{"text": "[tool call call_1: weather({\"city\":\"Oslo\"})]"}])
        );
        assert_eq!(
            written["messages"][2]["content"],
            json!([{"text": "[tool result call_1: sunny]"}, {"text": "thanks"}])
        );
        // No tools offered: nothing to force, nothing to keep apart.
        assert_eq!(cannot_take(&request, LLAMA), None);
        request.tools.clear();
        request.tool_choice = None;
        assert_eq!(
            write_request(&request, LLAMA)["messages"],
            written["messages"]
        );
    }

    #[test]
    fn blank_text_is_never_written() {
        let mut request = conversation(None, false);
        request.messages[2].content = vec![Part::Text(" ".into())];
        for model in [CLAUDE, LLAMA] {
            let written = write_request(&request, model);
            assert!(!written.to_string().contains(r#""text":"""#), "{written}");
            assert!(!written.to_string().contains(r#""text":" ""#), "{written}");
        }
    }
}
