//! Gemini `generateContent` requests to and from the canonical [`ChatRequest`].

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::model::joined_text;
use crate::{
    ChatRequest, Image, Message, Part, ResponseFormat, Role, Tool, ToolCall, ToolChoice, WireError,
};

/// The `thoughtSignature` Google documents for function calls that carry no
/// signature of the model's own (a client's history, another model's calls):
/// Gemini 3 refuses a turn whose first function call has none. Clients of
/// other formats have nowhere to keep Gemini's signatures, so every
/// translated turn with calls carries this one on its first call.
const SKIP_SIGNATURE_CHECK: &str = "skip_thought_signature_validator";

/// Writes `request` as a Gemini request (the model goes in the URL).
pub fn write_request(request: &ChatRequest, _model: &str) -> Value {
    // Gemini answers a function call by the function's name, not a call id.
    let names: HashMap<&str, &str> = request
        .messages
        .iter()
        .flat_map(|message| &message.tool_calls)
        .map(|call| (call.id.as_str(), call.name.as_str()))
        .collect();
    let mut contents: Vec<Value> = Vec::new();
    for message in &request.messages {
        let (role, parts) = match message.role {
            Role::User => ("user", write_parts(&message.content)),
            Role::Assistant => {
                let mut parts = write_parts(&message.content);
                parts.extend(message.tool_calls.iter().enumerate().map(|(i, call)| {
                    let args = serde_json::from_str::<Value>(&call.arguments)
                        .unwrap_or_else(|_| json!({}));
                    let mut part = json!({"functionCall": {"name": call.name, "args": args}});
                    if i == 0 {
                        part["thoughtSignature"] = SKIP_SIGNATURE_CHECK.into();
                    }
                    part
                }));
                ("model", parts)
            }
            Role::Tool => {
                let id = message.tool_call_id.as_deref().unwrap_or_default();
                let text = joined_text(&message.content);
                let response = match serde_json::from_str::<Value>(&text) {
                    Ok(object @ Value::Object(_)) => object,
                    _ => json!({"content": text}),
                };
                let name = names.get(id).copied().unwrap_or(id);
                let part = json!({"functionResponse": {"name": name, "response": response}});
                ("user", vec![part])
            }
        };
        // Consecutive turns of one role (a user's text after tool results)
        // become one turn, as Gemini alternates roles.
        match contents.last_mut() {
            Some(last) if last["role"] == role => {
                if let Some(existing) = last["parts"].as_array_mut() {
                    existing.extend(parts);
                }
            }
            _ => contents.push(json!({"role": role, "parts": parts})),
        }
    }
    let mut out = Map::new();
    out.insert("contents".into(), contents.into());
    if let Some(system) = &request.system {
        out.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system}]}),
        );
    }
    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                // `parametersJsonSchema` takes JSON Schema as OpenAI and
                // Anthropic clients write it; `parameters` takes only an
                // OpenAPI subset, refusing `additionalProperties`, which
                // every strict OpenAI tool carries.
                let mut declaration =
                    json!({"name": tool.name, "parametersJsonSchema": tool.parameters});
                if let Some(description) = &tool.description {
                    declaration["description"] = description.as_str().into();
                }
                declaration
            })
            .collect();
        out.insert(
            "tools".into(),
            json!([{"functionDeclarations": declarations}]),
        );
    }
    if let Some(choice) = &request.tool_choice {
        let config = match choice {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Named(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        };
        out.insert(
            "toolConfig".into(),
            json!({"functionCallingConfig": config}),
        );
    }
    let mut generation = Map::new();
    let settings = [
        ("maxOutputTokens", request.max_tokens.map(Value::from)),
        ("temperature", request.temperature.map(Value::from)),
        ("topP", request.top_p.map(Value::from)),
        (
            "stopSequences",
            (!request.stop.is_empty()).then(|| request.stop.clone().into()),
        ),
    ];
    generation.extend(
        settings
            .into_iter()
            .filter_map(|(key, value)| Some((key.to_owned(), value?))),
    );
    if let Some(format) = &request.response_format {
        generation.insert("responseMimeType".into(), "application/json".into());
        if let ResponseFormat::JsonSchema { schema, .. } = format {
            generation.insert("responseJsonSchema".into(), schema.clone());
        }
    }
    if !generation.is_empty() {
        out.insert("generationConfig".into(), Value::Object(generation));
    }
    Value::Object(out)
}

/// Parts as Gemini parts; empty text is left out, as Gemini refuses it
/// ("empty text parameter") — an OpenAI client replaying a tool call sends
/// its turn's `content` as `""`.
fn write_parts(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|part| match part {
            Part::Text(text) if text.is_empty() => None,
            Part::Text(text) => Some(json!({"text": text})),
            Part::Image(Image::Base64 { media_type, data }) => Some(json!({
                "inlineData": {"mimeType": media_type, "data": data}
            })),
            Part::Image(Image::Url(url)) => Some(json!({
                "fileData": {"mimeType": media_type_of(url), "fileUri": url}
            })),
        })
        .collect()
}

/// The image type a URL's extension names (JPEG if it names none).
fn media_type_of(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    match path.rsplit('.').next() {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        _ => "image/jpeg",
    }
}

/// Reads a Gemini request (for clients that speak Gemini).
pub fn parse_request(fields: &Map<String, Value>) -> Result<ChatRequest, WireError> {
    let config = &field_of(fields, "generationConfig")
        .cloned()
        .unwrap_or_default();
    let mut request = ChatRequest {
        max_tokens: field(config, "maxOutputTokens").and_then(Value::as_u64),
        temperature: config["temperature"].as_f64(),
        top_p: field(config, "topP").and_then(Value::as_f64),
        stop: field(config, "stopSequences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        response_format: (field(config, "responseMimeType")
            .is_some_and(|mime| mime == "application/json"))
        .then(
            || match field(config, "responseJsonSchema").or(field(config, "responseSchema")) {
                Some(schema) => ResponseFormat::JsonSchema {
                    name: "response".into(),
                    schema: schema.clone(),
                    strict: None,
                },
                None => ResponseFormat::JsonObject,
            },
        ),
        system: field_of(fields, "systemInstruction").map(|system| texts(&system["parts"])),
        ..ChatRequest::default()
    };
    let contents = fields
        .get("contents")
        .and_then(Value::as_array)
        .ok_or_else(|| WireError::new("contents must be an array."))?;
    let mut calls = 0;
    for (i, content) in contents.iter().enumerate() {
        let role = match content["role"].as_str() {
            Some("model") => Role::Assistant,
            _ => Role::User,
        };
        let mut message = Message::new(role, Vec::new());
        for part in content["parts"].as_array().into_iter().flatten() {
            if let Some(text) = part["text"].as_str() {
                message.content.push(Part::Text(text.to_owned()));
            } else if let Some(data) = field(part, "inlineData") {
                message.content.push(Part::Image(Image::Base64 {
                    media_type: field(data, "mimeType")
                        .and_then(Value::as_str)
                        .unwrap_or("image/png")
                        .to_owned(),
                    data: data["data"].as_str().unwrap_or_default().to_owned(),
                }));
            } else if let Some(call) = field(part, "functionCall") {
                calls += 1;
                message.tool_calls.push(ToolCall {
                    id: format!("call_{calls}"),
                    name: call["name"].as_str().unwrap_or_default().to_owned(),
                    arguments: call["args"].to_string(),
                });
            } else if let Some(answer) = field(part, "functionResponse") {
                let name = answer["name"].as_str().unwrap_or_default();
                request.messages.push(Message {
                    tool_call_id: Some(call_id_of(&request.messages, name)),
                    ..Message::new(Role::Tool, vec![Part::Text(answer["response"].to_string())])
                });
            } else {
                return Err(WireError::new(format!(
                    "contents[{i}]: this kind of part cannot be translated."
                )));
            }
        }
        if !message.content.is_empty() || !message.tool_calls.is_empty() {
            request.messages.push(message);
        }
    }
    if let Some(tools) = fields.get("tools").and_then(Value::as_array) {
        for declaration in tools.iter().flat_map(|tool| {
            field(tool, "functionDeclarations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        }) {
            request.tools.push(Tool {
                name: declaration["name"].as_str().unwrap_or_default().to_owned(),
                description: declaration["description"].as_str().map(str::to_owned),
                parameters: declared_parameters(declaration)?,
                strict: None,
            });
        }
    }
    Ok(request)
}

/// A function declaration's parameters: `parametersJsonSchema` as written,
/// or `parameters`, held to the OpenAPI subset Gemini's `Schema` accepts.
fn declared_parameters(declaration: &Value) -> Result<Value, WireError> {
    if let Some(schema) = field(declaration, "parametersJsonSchema") {
        return Ok(schema.clone());
    }
    let Some(schema) = declaration.get("parameters") else {
        return Ok(json!({"type": "object", "properties": {}}));
    };
    if let Some(path) = json_schema_only(schema, "parameters") {
        return Err(WireError::new(format!(
            "Invalid JSON payload received. Unknown name \"additionalProperties\" at '{path}': \
             use parametersJsonSchema for JSON Schema."
        )));
    }
    Ok(schema.clone())
}

/// Where `schema` uses `additionalProperties`, which the OpenAPI `Schema` of
/// Gemini's `parameters` does not know, if it does.
fn json_schema_only(schema: &Value, path: &str) -> Option<String> {
    match schema {
        Value::Object(fields) if fields.contains_key("additionalProperties") => {
            Some(path.to_owned())
        }
        Value::Object(fields) => fields
            .iter()
            .find_map(|(key, value)| json_schema_only(value, &format!("{path}.{key}"))),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| json_schema_only(item, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// A field of a Gemini request in either of proto-JSON's spellings: the API
/// takes `functionCall` and `function_call` alike, and the google-genai SDK
/// sends the second.
fn field<'v>(value: &'v Value, camel: &str) -> Option<&'v Value> {
    value
        .get(camel)
        .or_else(|| value.get(snake_case(camel).as_str()))
}

/// [`field`] of the request's top-level fields.
fn field_of<'v>(fields: &'v Map<String, Value>, camel: &str) -> Option<&'v Value> {
    fields
        .get(camel)
        .or_else(|| fields.get(snake_case(camel).as_str()))
}

/// `functionCall` as `function_call`.
fn snake_case(camel: &str) -> String {
    let mut snake = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            snake.push('_');
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

/// The id of the latest call of function `name`.
fn call_id_of(messages: &[Message], name: &str) -> String {
    messages
        .iter()
        .rev()
        .flat_map(|message| message.tool_calls.iter().rev())
        .find(|call| call.name == name)
        .map_or_else(|| name.to_owned(), |call| call.id.clone())
}

/// The text parts of a `parts` array, joined.
fn texts(parts: &Value) -> String {
    parts
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|part| part["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_json_schemas_travel_as_parameters_json_schema() {
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"], "additionalProperties": false});
        let request = ChatRequest {
            messages: vec![Message::new(Role::User, vec![Part::Text("hi".into())])],
            tools: vec![Tool {
                name: "get_weather".into(),
                description: None,
                parameters: schema.clone(),
                strict: Some(true),
            }],
            ..ChatRequest::default()
        };
        let written = write_request(&request, "gemini-2.5-flash");
        let declaration = &written["tools"][0]["functionDeclarations"][0];
        assert_eq!(declaration["parametersJsonSchema"], schema);
        assert!(declaration.get("parameters").is_none(), "{declaration}");
        let read = parse_request(written.as_object().unwrap()).unwrap();
        assert_eq!(read.tools[0].parameters, schema);
        // `parameters` is OpenAPI's Schema: Gemini refuses JSON Schema's
        // additionalProperties there, and so does the simulated provider.
        let mut old_style = written.clone();
        old_style["tools"][0]["functionDeclarations"][0] =
            json!({"name": "get_weather", "parameters": schema});
        let error = parse_request(old_style.as_object().unwrap()).unwrap_err();
        assert!(error.0.contains("'parameters'"), "{error}");
        old_style["tools"][0]["functionDeclarations"][0]["parameters"] =
            json!({"type": "object", "properties": {"city": {"type": "string"}}});
        assert!(parse_request(old_style.as_object().unwrap()).is_ok());
    }

    #[test]
    fn tool_calls_and_their_results_become_function_calls_and_responses() {
        let request = ChatRequest {
            system: Some("Use the tools.".into()),
            messages: vec![
                Message::new(Role::User, vec![Part::Text("Weather in Paris?".into())]),
                Message {
                    tool_calls: vec![ToolCall {
                        id: "call_7".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    }],
                    ..Message::new(Role::Assistant, Vec::new())
                },
                Message {
                    tool_call_id: Some("call_7".into()),
                    ..Message::new(Role::Tool, vec![Part::Text(r#"{"celsius":21}"#.into())])
                },
                Message::new(Role::User, vec![Part::Text("And tomorrow?".into())]),
            ],
            tools: vec![Tool {
                name: "get_weather".into(),
                description: Some("The weather of a city".into()),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
                strict: None,
            }],
            tool_choice: Some(ToolChoice::Named("get_weather".into())),
            stop: vec!["END".into()],
            ..ChatRequest::default()
        };
        let written = write_request(&request, "gemini-2.0-flash");
        assert_eq!(
            written["systemInstruction"]["parts"][0]["text"],
            "Use the tools."
        );
        let contents = written["contents"].as_array().unwrap();
        assert_eq!(contents.len(), 3, "{written}");
        assert_eq!(
            contents[1]["parts"][0]["functionCall"],
            json!({"name": "get_weather", "args": {"city": "Paris"}})
        );
        assert_eq!(
            contents[1]["parts"][0]["thoughtSignature"],
            SKIP_SIGNATURE_CHECK
        );
        // The tool's result, by the function's name, and the next user text
        // in one user turn.
        assert_eq!(contents[2]["role"], "user");
        assert_eq!(
            contents[2]["parts"][0]["functionResponse"],
            json!({"name": "get_weather", "response": {"celsius": 21}})
        );
        assert_eq!(contents[2]["parts"][1]["text"], "And tomorrow?");
        assert_eq!(
            written["tools"][0]["functionDeclarations"][0]["name"],
            "get_weather"
        );
        assert_eq!(
            written["toolConfig"]["functionCallingConfig"],
            json!({"mode": "ANY", "allowedFunctionNames": ["get_weather"]})
        );
        assert_eq!(written["generationConfig"]["stopSequences"], json!(["END"]));

        // Read back: the same conversation in canonical form.
        let fields = written.as_object().unwrap();
        let read = parse_request(fields).unwrap();
        assert_eq!(read.system.as_deref(), Some("Use the tools."));
        assert_eq!(read.messages[1].tool_calls[0].name, "get_weather");
        assert_eq!(read.messages[2].role, Role::Tool);
        assert_eq!(
            read.messages[2].tool_call_id.as_deref(),
            Some(read.messages[1].tool_calls[0].id.as_str())
        );
    }

    #[test]
    fn both_proto_json_spellings_are_read() {
        let snake = json!({
            "system_instruction": {"parts": [{"text": "Be brief."}]},
            "generation_config": {"max_output_tokens": 50, "top_p": 0.5,
                "response_mime_type": "application/json"},
            "contents": [
                {"role": "user", "parts": [{"text": "Weather?"},
                    {"inline_data": {"mime_type": "image/jpeg", "data": "AAAA"}}]},
                {"role": "model", "parts": [{"function_call": {"name": "weather", "args": {"city_name": "Paris"}}}]},
                {"role": "user", "parts": [{"function_response": {"name": "weather", "response": {"celsius": 21}}}]}
            ],
            "tools": [{"function_declarations": [{"name": "weather",
                "parameters_json_schema": {"type": "object", "additionalProperties": false}}]}]
        });
        let request = parse_request(snake.as_object().unwrap()).unwrap();
        assert_eq!(request.system.as_deref(), Some("Be brief."));
        assert_eq!((request.max_tokens, request.top_p), (Some(50), Some(0.5)));
        assert_eq!(request.response_format, Some(ResponseFormat::JsonObject));
        assert!(
            matches!(request.messages[0].content[1], Part::Image(Image::Base64 { ref media_type, .. }) if media_type == "image/jpeg")
        );
        assert_eq!(
            request.messages[1].tool_calls[0].arguments, r#"{"city_name":"Paris"}"#,
            "free-form args kept as sent"
        );
        assert_eq!(request.messages[2].tool_call_id.as_deref(), Some("call_1"));
        assert_eq!(request.tools[0].parameters["additionalProperties"], false);
    }
}
