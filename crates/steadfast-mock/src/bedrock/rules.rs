//! What the simulated Converse API refuses, as Bedrock does, each rule with
//! its source. From the reference (botocore's bedrock-runtime service model,
//! 2023-09-30): `messages` is required; `toolChoice.tool` is "Only supported
//! by Anthropic Claude 3 and Amazon Nova models"; `outputConfig.textFormat`
//! is `type: json_schema` with the schema as a string, and AWS's structured
//! output guide names the Claude models that take it (Haiku, Sonnet and Opus
//! 4.5, Opus and Sonnet 4.6). From the service's own words as users report
//! them (not checked here against the live service): a blank text block
//! ("The text field in the ContentBlock object … is blank"); turns that do
//! not alternate or do not begin with the user; `toolUse`/`toolResult`
//! blocks without a `toolConfig` (llama_index#19841); Nova refusing
//! `toolChoice.any` (aws-samples/bedrock-access-gateway#92) and Llama any
//! forced choice; Llama and Mistral refusing tool results beside other
//! blocks in one turn (browser-use reports). The wording of a refused
//! `outputConfig` is ours: no report quotes it.
//!
//! This module is deliberately separate from the gateway's own table
//! (`steadfast_wire::bedrock::Family`): a mock that shared it would share
//! its misreadings.

use serde_json::Value;

use super::super::respond::takes_structured_output;

/// A refusal: `ValidationException` with this message.
pub(super) type Refusal = String;

/// Why Bedrock would refuse `body` for `model`, if it would.
pub(super) fn refusal(model: &str, body: &Value) -> Option<Refusal> {
    let Some(messages) = body["messages"].as_array() else {
        return Some("The messages field is required.".to_owned());
    };
    alternation(messages)
        .or_else(|| blank_text(messages))
        .or_else(|| tool_blocks_need_tools(messages, body))
        .or_else(|| tool_choice(model, body))
        .or_else(|| mixed_turns(model, messages))
        .or_else(|| output_config(model, body))
}

fn alternation(messages: &[Value]) -> Option<Refusal> {
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap_or_default())
        .collect();
    (roles.first().is_some_and(|role| *role != "user")
        || roles.windows(2).any(|pair| pair[0] == pair[1]))
    .then(|| "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.".to_owned())
}

fn blocks(messages: &[Value]) -> impl Iterator<Item = (usize, usize, &Value)> {
    messages.iter().enumerate().flat_map(|(i, message)| {
        message["content"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(move |(j, block)| (i, j, block))
    })
}

fn blank_text(messages: &[Value]) -> Option<Refusal> {
    blocks(messages)
        .find(|(_, _, block)| block["text"].as_str().is_some_and(|t| t.trim().is_empty()))
        .map(|(i, j, _)| format!("The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again."))
}

fn tool_blocks_need_tools(messages: &[Value], body: &Value) -> Option<Refusal> {
    let uses_tools = blocks(messages)
        .any(|(_, _, block)| block.get("toolUse").is_some() || block.get("toolResult").is_some());
    (uses_tools && body.get("toolConfig").is_none()).then(|| {
        "The toolConfig field must be defined when using toolUse and toolResult content blocks."
            .to_owned()
    })
}

fn is_claude(model: &str) -> bool {
    model.contains("anthropic.claude")
}

fn tool_choice(model: &str, body: &Value) -> Option<Refusal> {
    let choice = body["toolConfig"].get("toolChoice")?;
    let llama = model.contains("meta.llama");
    let nova = model.contains("amazon.nova");
    let refused = if choice.get("any").is_some() {
        (llama || nova).then_some("any")
    } else if choice.get("tool").is_some() {
        (!is_claude(model) && !nova).then_some("tool")
    } else {
        None
    };
    refused.map(|field| format!("This model doesn't support the toolConfig.toolChoice.{field} field. Remove toolConfig.toolChoice.{field} and try again."))
}

fn mixed_turns(model: &str, messages: &[Value]) -> Option<Refusal> {
    if !(model.contains("meta.llama") || model.contains("mistral.")) {
        return None;
    }
    messages.iter().enumerate().find_map(|(i, message)| {
        let content = message["content"].as_array()?;
        let results = content.iter().filter(|b| b.get("toolResult").is_some()).count();
        (results > 0 && results < content.len()).then(|| {
            format!("messages.{i}.content: Conversation blocks and tool result blocks cannot be provided in the same turn.")
        })
    })
}

fn output_config(model: &str, body: &Value) -> Option<Refusal> {
    let format = body["outputConfig"].get("textFormat")?;
    if !takes_structured_output(model) {
        return Some("This model doesn't support the outputConfig.textFormat field.".to_owned());
    }
    if format["type"] != "json_schema" {
        return Some(
            "outputConfig.textFormat.type: the only valid value is json_schema.".to_owned(),
        );
    }
    let schema = format["structure"]["jsonSchema"]["schema"].as_str();
    match schema.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(_))) => None,
        _ => Some("outputConfig.textFormat.structure.jsonSchema.schema must be a string holding a JSON schema object.".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn turns(content: Value) -> Value {
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]},
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}]},
            {"role": "user", "content": content}],
            "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {}}}}]}})
    }

    #[test]
    fn each_family_refuses_what_it_is_reported_to() {
        let result = json!({"toolResult": {"toolUseId": "t1", "content": [{"text": "ok"}]}});
        let mixed = turns(json!([result, {"text": "and?"}]));
        assert_eq!(
            refusal("us.anthropic.claude-sonnet-4-5-20250929-v1:0", &mixed),
            None
        );
        assert!(
            refusal("meta.llama3-3-70b-instruct-v1:0", &mixed)
                .unwrap()
                .contains("same turn")
        );
        assert_eq!(
            refusal("meta.llama3-3-70b-instruct-v1:0", &turns(json!([result]))),
            None
        );

        let mut forced = turns(json!([result]));
        forced["toolConfig"]["toolChoice"] = json!({"any": {}});
        assert!(
            refusal("amazon.nova-pro-v1:0", &forced)
                .unwrap()
                .contains("toolChoice.any")
        );
        assert_eq!(refusal("mistral.mistral-large-2407-v1:0", &forced), None);
        forced["toolConfig"]["toolChoice"] = json!({"tool": {"name": "f"}});
        assert_eq!(refusal("amazon.nova-pro-v1:0", &forced), None);
        assert!(refusal("mistral.mistral-large-2407-v1:0", &forced).is_some());

        let mut untooled = turns(json!([result]));
        untooled.as_object_mut().unwrap().remove("toolConfig");
        assert!(
            refusal("anthropic.claude-3-haiku-20240307-v1:0", &untooled)
                .unwrap()
                .contains("toolConfig")
        );
    }

    #[test]
    fn structured_output_is_taken_only_by_the_named_models_as_a_string() {
        let schema = json!({"type": "object"}).to_string();
        let mut body = json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "outputConfig": {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": schema}}}}});
        assert_eq!(
            refusal("anthropic.claude-sonnet-4-5-20250929-v1:0", &body),
            None
        );
        assert!(refusal("anthropic.claude-3-7-sonnet-20250219-v1:0", &body).is_some());
        body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"] =
            json!({"type": "object"});
        assert!(refusal("anthropic.claude-sonnet-4-5-20250929-v1:0", &body).is_some());
    }
}
