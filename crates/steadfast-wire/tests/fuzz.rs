//! Property tests of what reads outside input: every format's request and
//! answer parsers and the stream translators take arbitrary JSON without
//! panicking (a clear error or a value), and the event splitter finds the
//! same events however a stream is cut into chunks.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{Map, Value};
use steadfast_wire::Format;
use steadfast_wire::sse::EventSplitter;
use steadfast_wire::translate::Translation;

const FORMATS: [Format; 5] = [
    Format::Openai,
    Format::Anthropic,
    Format::Gemini,
    Format::Responses,
    Format::Bedrock,
];

/// Keys the parsers look for, so that arbitrary objects reach deep code.
const KEYS: [&str; 24] = [
    "model",
    "messages",
    "role",
    "content",
    "type",
    "text",
    "tools",
    "function",
    "name",
    "arguments",
    "tool_calls",
    "tool_call_id",
    "input",
    "contents",
    "parts",
    "functionCall",
    "choices",
    "delta",
    "candidates",
    "output",
    "message",
    "usage",
    "response_format",
    "system",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("user".to_owned()),
            Just("assistant".to_owned()),
            Just("tool".to_owned()),
            Just("function".to_owned()),
            Just("json_schema".to_owned()),
            ".{0,12}",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::vec((prop::sample::select(&KEYS[..]), inner), 0..6).prop_map(
                |members| {
                    Value::Object(
                        members
                            .into_iter()
                            .map(|(key, value)| (key.to_owned(), value))
                            .collect(),
                    )
                }
            ),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    json().prop_map(|value| match value {
        Value::Object(map) => map,
        other => Map::from_iter([("messages".to_owned(), other)]),
    })
}

proptest! {
    #[test]
    fn requests_parse_or_fail_and_what_parses_can_be_written_anywhere(fields in object()) {
        for client in FORMATS {
            if let Ok(request) = client.codec().parse_request(&fields) {
                for target in FORMATS {
                    let written = target.codec().write_request(&request, "m");
                    prop_assert!(written.is_object());
                    let _ = target.codec().cannot_take("m", &request);
                }
            }
        }
    }

    #[test]
    fn answers_and_stream_events_are_read_without_panicking(body in json()) {
        let bytes = Bytes::from(body.to_string());
        for target in FORMATS {
            for client in [Format::Openai, Format::Anthropic, Format::Responses] {
                let translation = Translation { client, target, include_usage: true };
                let _ = translation.read(bytes.clone());
                let mut stream = translation.stream();
                let mut out = Vec::new();
                let event = Bytes::from(format!("data: {body}\n\n"));
                let _ = stream.feed(event.clone(), &mut out);
                let _ = stream.feed(event, &mut out);
            }
        }
    }

    #[test]
    fn events_are_the_same_however_the_stream_is_cut(
        events in prop::collection::vec("[a-z:{} \r]{0,20}", 1..8),
        cuts in prop::collection::vec(0usize..200, 0..10),
        crlf in any::<bool>(),
    ) {
        let end = if crlf { "\r\n\r\n" } else { "\n\n" };
        let stream: String = events.iter().map(|e| format!("data: {e}{end}")).collect();
        let whole = split(&[stream.as_bytes()]);
        let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut from = 0;
        for point in points {
            pieces.push(&stream.as_bytes()[from..point]);
            from = point;
        }
        pieces.push(&stream.as_bytes()[from..]);
        prop_assert_eq!(split(&pieces), whole);
    }
}

/// The events found when `pieces` arrive one after another.
fn split(pieces: &[&[u8]]) -> Vec<Bytes> {
    let mut splitter = EventSplitter::default();
    let mut found = Vec::new();
    for piece in pieces {
        splitter.push(piece);
        while let Some(event) = splitter.next_event() {
            found.push(event);
        }
    }
    found
}
