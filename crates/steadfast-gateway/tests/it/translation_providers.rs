//! Translation to and from Gemini, Bedrock's Converse API and OpenAI's
//! Responses API, on examples from their API references
//! (`tests/it/fixtures/`): requests one way, answers and streams the other.

use bytes::Bytes;
use serde_json::{Value, json};
use steadfast_wire::Format;
use steadfast_wire::Format::{Bedrock, Gemini, Openai, Responses};
use steadfast_wire::translate::{Progress, Translation};

use crate::translation::{data_of, fixture, object, translate_stream};

fn expected(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn answer(client: Format, target: Format, name: &str) -> (Value, Option<u64>) {
    let translation = Translation {
        client,
        target,
        include_usage: false,
    };
    let (body, usage) = translation.answer(Bytes::from(fixture(name))).unwrap();
    (serde_json::from_slice(&body).unwrap(), usage)
}

#[test]
fn openai_requests_become_gemini_and_converse_requests() {
    let request = Openai
        .codec()
        .parse_request(&object("openai_request.json"))
        .unwrap();
    for (target, name) in [
        (Gemini, "openai_request.as_gemini.json"),
        (Bedrock, "openai_request.as_bedrock.json"),
    ] {
        assert_eq!(
            target.codec().write_request(&request, "model"),
            expected(name),
            "{name}"
        );
    }
}

#[test]
fn responses_requests_become_chat_completions() {
    let request = Responses
        .codec()
        .parse_request(&object("responses_request.json"))
        .unwrap();
    assert_eq!(
        Openai.codec().write_request(&request, "gpt-4.1"),
        expected("responses_request.as_openai.json")
    );
}

#[test]
fn gemini_answers_become_chat_completions_without_thoughts() {
    let (answer, usage) = answer(Openai, Gemini, "gemini_response_function_call.json");
    assert_eq!(answer["id"], "t8xPaMm4L9GNz7IPk4Oq0QE");
    assert_eq!(answer["model"], "gemini-2.5-flash");
    let choice = &answer["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    // The thought summary is not the answer.
    assert_eq!(choice["message"]["content"], "Setting the lights now.");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "set_light_values");
    assert!(call["id"].as_str().is_some_and(|id| !id.is_empty()));
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({"brightness": 25, "color_temp": "warm"}));
    // Thinking tokens are billed as output.
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 125, "completion_tokens": 61, "total_tokens": 186})
    );
    assert_eq!(usage, Some(186));
}

#[test]
fn converse_answers_become_chat_completions() {
    let (answer, usage) = answer(Openai, Bedrock, "bedrock_converse_response_tool_use.json");
    let choice = &answer["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(
        choice["message"]["content"],
        "I'll look up the most popular song on WZPZ."
    );
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["id"], "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
    assert_eq!(call["function"]["name"], "top_song");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"sign": "WZPZ"})
    );
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 375, "completion_tokens": 36, "total_tokens": 411})
    );
    assert_eq!(usage, Some(411));
}

#[test]
fn chat_completions_become_responses_with_function_calls() {
    let (answer, usage) = answer(Responses, Openai, "openai_response_tool_calls.json");
    assert_eq!(answer["object"], "response");
    assert_eq!(answer["status"], "completed");
    let calls: Vec<&Value> = answer["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "function_call")
        .collect();
    assert_eq!(calls.len(), 1, "{answer}");
    assert_eq!(calls[0]["call_id"], "call_abc123");
    assert_eq!(calls[0]["name"], "get_current_weather");
    assert_eq!(
        serde_json::from_str::<Value>(calls[0]["arguments"].as_str().unwrap()).unwrap(),
        json!({"location": "Boston, MA"})
    );
    assert_eq!(
        answer["usage"],
        json!({"input_tokens": 82, "input_tokens_details": {"cached_tokens": 0},
               "output_tokens": 17, "output_tokens_details": {"reasoning_tokens": 0},
               "total_tokens": 99})
    );
    assert_eq!(usage, Some(99));
}

#[test]
fn gemini_streams_become_chunks_then_usage_then_done() {
    let translation = Translation {
        client: Openai,
        target: Gemini,
        include_usage: true,
    };
    let (events, progress, error) = translate_stream(translation, "gemini_stream.sse");
    assert_eq!(error, None);
    assert_eq!(progress[0], Progress::Content);
    assert_eq!(progress.last(), Some(&Progress::Done));
    assert_eq!(
        events.last().map(|e| &e[..]),
        Some(&b"data: [DONE]\n\n"[..])
    );
    let chunks = data_of(&events);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == "LfZPaNm1Dt2Oz7IP8a2ZsQk")
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "The ancient library held more stories than shelves.");
    let finish: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("stop")]);
    let usage = chunks
        .iter()
        .find_map(|c| c.get("usage").filter(|u| !u.is_null()));
    assert_eq!(
        usage,
        Some(&json!({"prompt_tokens": 9, "completion_tokens": 36, "total_tokens": 45}))
    );
}

#[test]
fn json_answer_formats_are_carried_or_refused_by_name() {
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "count"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "count", "schema": schema, "strict": true}}});
    let request = Openai
        .codec()
        .parse_request(chat.as_object().unwrap())
        .unwrap();
    assert_eq!(
        Responses.codec().write_request(&request, "m")["text"],
        json!({"format": {"type": "json_schema", "name": "count", "schema": schema, "strict": true}})
    );
    let read_back = Responses
        .codec()
        .parse_request(
            Responses
                .codec()
                .write_request(&request, "m")
                .as_object()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        Openai.codec().write_request(&read_back, "m")["response_format"],
        chat["response_format"]
    );
    assert_eq!(Gemini.codec().cannot_take("m", &request), None);
    // Converse takes a schema from Claude 4.5 and later, as a JSON string.
    let sonnet = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    assert_eq!(Bedrock.codec().cannot_take(sonnet, &request), None);
    let text_format =
        &Bedrock.codec().write_request(&request, sonnet)["outputConfig"]["textFormat"];
    assert_eq!(text_format["type"], "json_schema");
    let sent: Value = serde_json::from_str(
        text_format["structure"]["jsonSchema"]["schema"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(sent, schema);
    // Anthropic's API takes it as output_config.format from Claude 4.5 on;
    // Claude on Vertex AI not at all (off by the platform's default policy).
    assert_eq!(
        Format::Anthropic
            .codec()
            .cannot_take("claude-sonnet-4-5", &request),
        None
    );
    assert_eq!(
        Format::Anthropic
            .codec()
            .write_request(&request, "claude-sonnet-4-5")["output_config"],
        json!({"format": {"type": "json_schema", "schema": schema}})
    );
    assert!(
        Format::Anthropic
            .codec()
            .cannot_take("claude-3-5-sonnet-20241022", &request)
            .is_some()
    );
    for older in [
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "meta.llama3-3-70b-instruct-v1:0",
    ] {
        assert!(
            Bedrock
                .codec()
                .cannot_take(older, &request)
                .is_some_and(|why| why.contains("JSON schema")),
            "{older}"
        );
    }

    let object = json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
                        "response_format": {"type": "json_object"}});
    let request = Openai
        .codec()
        .parse_request(object.as_object().unwrap())
        .unwrap();
    assert!(
        Bedrock
            .codec()
            .cannot_take(sonnet, &request)
            .is_some_and(|why| why.contains("schema")),
        "Converse has no JSON mode without a schema"
    );
    let config = &Gemini.codec().write_request(&request, "m")["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    assert!(config.get("responseJsonSchema").is_none(), "{config}");

    let plain = json!({"model": "m", "messages": [], "response_format": {"type": "text"}});
    let request = Openai
        .codec()
        .parse_request(plain.as_object().unwrap())
        .unwrap();
    assert_eq!(request.response_format, None);

    let unknown = json!({"model": "m", "messages": [], "response_format": {"type": "grammar"}});
    let error = Openai
        .codec()
        .parse_request(unknown.as_object().unwrap())
        .unwrap_err();
    assert!(
        error.0.contains("response_format") && error.0.contains("grammar"),
        "{error}"
    );
    let schemaless = json!({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "n"}}});
    let error = Responses
        .codec()
        .parse_request(schemaless.as_object().unwrap())
        .unwrap_err();
    assert!(error.0.contains("text.format"), "{error}");
}
