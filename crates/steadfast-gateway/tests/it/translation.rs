//! Translation between OpenAI's chat completions and Anthropic's Messages API,
//! on recorded examples from both APIs' documentation (`tests/it/fixtures/`):
//! requests, whole answers and streams (tool calls included), both ways.

use bytes::Bytes;
use serde_json::{Map, Value, json};
use steadfast::FailureKind;
use steadfast_wire::Format::{Anthropic, Openai};
use steadfast_wire::sse::{EventSplitter, event_data};
use steadfast_wire::translate::{Progress, Translation};
use steadfast_wire::{StreamError, anthropic, openai};

pub(crate) fn fixture(name: &str) -> String {
    let path = format!("{}/tests/it/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn object(name: &str) -> Map<String, Value> {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// Feeds a recorded stream through a translation: the client's events and
/// the progress after each upstream event, or the error that stopped it.
pub(crate) fn translate_stream(
    translation: Translation,
    name: &str,
) -> (Vec<Bytes>, Vec<Progress>, Option<StreamError>) {
    let mut splitter = EventSplitter::default();
    splitter.push(fixture(name).as_bytes());
    let mut translator = translation.stream();
    let (mut out, mut progress) = (Vec::new(), Vec::new());
    while let Some(event) = splitter.next_event() {
        match translator.feed(event, &mut out) {
            Ok(step) => progress.push(step),
            Err(error) => return (out, progress, Some(error)),
        }
    }
    (out, progress, None)
}

pub(crate) fn data_of(events: &[Bytes]) -> Vec<Value> {
    events
        .iter()
        .filter_map(|event| event_data(event))
        .filter(|data| data != "[DONE]")
        .map(|data| serde_json::from_str(&data).unwrap())
        .collect()
}

#[test]
fn openai_requests_become_messages_requests() {
    let request = Openai
        .codec()
        .parse_request(&object("openai_request.json"))
        .unwrap();
    let written = anthropic::write_request(&request, "claude-sonnet-4-5");
    assert_eq!(
        written,
        serde_json::from_str::<Value>(&fixture("openai_request.as_anthropic.json")).unwrap()
    );
    let mut bare = object("openai_request.json");
    bare.remove("max_completion_tokens");
    let request = Openai.codec().parse_request(&bare).unwrap();
    let written = anthropic::write_request(&request, "claude");
    assert_eq!(written["max_tokens"], anthropic::DEFAULT_MAX_TOKENS);
}

#[test]
fn messages_requests_become_openai_requests() {
    let request = Anthropic
        .codec()
        .parse_request(&object("anthropic_request.json"))
        .unwrap();
    let written = openai::write_request(&request, "gpt-4o-mini");
    assert_eq!(
        written,
        serde_json::from_str::<Value>(&fixture("anthropic_request.as_openai.json")).unwrap()
    );
}

#[test]
fn untranslatable_requests_are_refused_with_the_reason() {
    let audio = json!({"model": "chat", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}}]}]});
    let error = Openai
        .codec()
        .parse_request(audio.as_object().unwrap())
        .unwrap_err();
    assert!(error.0.contains("messages[0].content[0]"), "{error}");
    let server_tool = json!({"model": "chat", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}]});
    let error = Anthropic
        .codec()
        .parse_request(server_tool.as_object().unwrap())
        .unwrap_err();
    assert!(error.0.contains("tools.0"), "{error}");
}

#[test]
fn messages_answers_become_chat_completions() {
    let translation = Translation {
        client: Openai,
        target: Anthropic,
        include_usage: false,
    };
    let (body, usage) = translation
        .answer(Bytes::from(fixture("anthropic_response_tool_use.json")))
        .unwrap();
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["id"], "msg_01Aq9w938a90dw8q");
    assert_eq!(answer["model"], "claude-sonnet-4-5");
    let choice = &answer["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(
        choice["message"]["content"],
        "I'll check the current weather in San Francisco for you."
    );
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["id"], "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        arguments,
        json!({"location": "San Francisco, CA", "unit": "celsius"})
    );
    // Cached tokens count as prompt tokens, as OpenAI counts them.
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 400, "completion_tokens": 92, "total_tokens": 492})
    );
    assert_eq!(usage, Some(492));
}

#[test]
fn chat_completions_become_messages_answers() {
    let translation = Translation {
        client: Anthropic,
        target: Openai,
        include_usage: false,
    };
    let (body, usage) = translation
        .answer(Bytes::from(fixture("openai_response_tool_calls.json")))
        .unwrap();
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        answer,
        json!({
            "id": "chatcmpl-abc123",
            "type": "message",
            "role": "assistant",
            "model": "gpt-4o-mini",
            "content": [{"type": "tool_use", "id": "call_abc123", "name": "get_current_weather", "input": {"location": "Boston, MA"}}],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": 82, "output_tokens": 17}
        })
    );
    assert_eq!(usage, Some(99));
}

#[test]
fn stop_reasons_map_to_finish_reasons() {
    for (stop, finish) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
    ] {
        let body = json!({"id": "m", "model": "c", "content": [{"type": "text", "text": "x"}], "stop_reason": stop,
                          "usage": {"input_tokens": 1, "output_tokens": 1}});
        let response = anthropic::parse_response(&body).unwrap();
        assert_eq!(
            openai::write_response(&response)["choices"][0]["finish_reason"],
            finish,
            "{stop}"
        );
    }
}

#[test]
fn anthropic_streams_become_openai_chunks_with_tool_calls() {
    let translation = Translation {
        client: Openai,
        target: Anthropic,
        include_usage: true,
    };
    let (events, progress, error) = translate_stream(translation, "anthropic_stream_tool_use.sse");
    assert_eq!(error, None);
    // message_start, content_block_start (empty text) and ping carry no answer yet.
    assert_eq!(&progress[..3], &[Progress::Framing; 3]);
    assert_eq!(progress[3], Progress::Content);
    assert_eq!(progress.last(), Some(&Progress::Done));
    assert_eq!(
        events.last().map(|e| &e[..]),
        Some(&b"data: [DONE]\n\n"[..])
    );
    let chunks = data_of(&events);
    assert!(chunks.iter().all(
        |c| c["object"] == "chat.completion.chunk" && c["id"] == "msg_014p7gG3wDgGV9EUtLvnow3U"
    ));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Okay, let's check the weather for San Francisco, CA:");
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(calls[0]["id"], "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert!(calls.iter().all(|call| call["index"] == 0));
    let arguments: String = calls
        .iter()
        .filter_map(|call| call["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({"location": "San Francisco, CA", "unit": "fahrenheit"})
    );
    let finish: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("tool_calls")]);
    let usage = chunks.iter().find_map(|c| c.get("usage")).unwrap();
    assert_eq!(
        usage,
        &json!({"prompt_tokens": 472, "completion_tokens": 89, "total_tokens": 561})
    );
}

#[test]
fn openai_streams_become_anthropic_events_with_tool_use() {
    let translation = Translation {
        client: Anthropic,
        target: Openai,
        include_usage: false,
    };
    let (events, progress, error) = translate_stream(translation, "openai_stream_tool_calls.sse");
    assert_eq!(error, None);
    assert_eq!(progress.last(), Some(&Progress::Done));
    let names: Vec<&str> = events
        .iter()
        .map(|e| {
            std::str::from_utf8(e)
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .trim_start_matches("event: ")
        })
        .collect();
    assert_eq!(names[..2], ["message_start", "content_block_start"]);
    assert_eq!(
        names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let data = data_of(&events);
    assert_eq!(
        data[0]["message"]["id"],
        "chatcmpl-9lvZZ0Pmbf3bGGWrh7a3ad0nOOIqu"
    );
    assert_eq!(
        data[1]["content_block"],
        json!({"type": "tool_use", "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "name": "get_weather", "input": {}})
    );
    let input: String = data
        .iter()
        .filter(|d| d["delta"]["type"] == "input_json_delta")
        .map(|d| {
            assert_eq!(d["index"], 0);
            d["delta"]["partial_json"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"location": "Paris, France"})
    );
    let delta = &data[data.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 81, "output_tokens": 15})
    );
}

#[test]
fn an_overloaded_error_event_is_a_failure_before_any_content() {
    let translation = Translation {
        client: Openai,
        target: Anthropic,
        include_usage: false,
    };
    let (events, progress, error) =
        translate_stream(translation, "anthropic_stream_overloaded.sse");
    assert_eq!(progress, [Progress::Framing, Progress::Framing]);
    let error = error.expect("the error event must fail the stream");
    assert_eq!(error.failure.kind, FailureKind::Overloaded);
    assert_eq!(error.message, "Overloaded");
    // Nothing reached the client but the opening chunk, still held back by the relay.
    assert_eq!(data_of(&events).len(), 1);
}

#[test]
fn same_format_streams_pass_through_byte_for_byte() {
    for (format, name) in [
        (Openai, "openai_stream_tool_calls.sse"),
        (Anthropic, "anthropic_stream_tool_use.sse"),
    ] {
        let translation = Translation {
            client: format,
            target: format,
            include_usage: false,
        };
        let (events, progress, error) = translate_stream(translation, name);
        assert_eq!(error, None);
        assert_eq!(progress.last(), Some(&Progress::Done), "{name}");
        assert_eq!(events.concat(), fixture(name).as_bytes(), "{name}");
    }
}
