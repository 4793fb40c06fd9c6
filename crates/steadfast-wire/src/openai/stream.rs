//! OpenAI's streamed chat completions (`chat.completion.chunk` events and a
//! final `data: [DONE]`) to and from canonical [`StreamEvent`]s.

use bytes::Bytes;
use serde_json::{Value, json};
use steadfast::classify::http::classify_status;
use steadfast::{Failure, Outcome};

use super::response::{finish_name, parse_finish, usage_of, write_usage};
use crate::{Decode, DecodeError, Encode, Resumption, StreamError, StreamEvent, Usage};

/// Reads OpenAI chunks.
#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
}

impl Decode for Decoder {
    fn decode(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), DecodeError> {
        if data.trim() == "[DONE]" {
            out.push(StreamEvent::End);
            return Ok(());
        }
        let chunk = crate::stream::json_object(data)?;
        if let Some(error) = chunk.get("error") {
            return Err(stream_error(&chunk, error, data).into());
        }
        // Azure's first chunk carries only its content filter's verdicts on
        // the prompt (`choices: []`, `id: ""`, `model: ""`): the answer, its
        // id and model start with the next one.
        let no_choices = chunk["choices"].as_array().is_some_and(Vec::is_empty);
        if !self.started && no_choices && usage_of(&chunk).is_none() {
            return Ok(());
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::Start {
                id: chunk["id"].as_str().unwrap_or_default().to_owned(),
                model: chunk["model"].as_str().unwrap_or_default().to_owned(),
            });
        }
        if let Some(choice) = chunk["choices"].get(0) {
            let delta = &choice["delta"];
            // A chat chunk's `delta.content`, or a legacy completion chunk's `text`.
            let text = delta["content"]
                .as_str()
                .or_else(|| choice["text"].as_str());
            if let Some(text) = text.filter(|text| !text.is_empty()) {
                out.push(StreamEvent::Text(text.to_owned()));
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let index = call["index"].as_u64().unwrap_or_default() as usize;
                let function = &call["function"];
                if let (Some(id), Some(name)) = (call["id"].as_str(), function["name"].as_str()) {
                    out.push(StreamEvent::ToolCallStart {
                        index,
                        id: id.to_owned(),
                        name: name.to_owned(),
                    });
                }
                if let Some(fragment) = function["arguments"].as_str().filter(|f| !f.is_empty()) {
                    out.push(StreamEvent::ToolCallArguments {
                        index,
                        fragment: fragment.to_owned(),
                    });
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                out.push(StreamEvent::Finish(parse_finish(reason)));
            }
        }
        if let Some(usage) = usage_of(&chunk) {
            out.push(StreamEvent::Usage(usage));
        }
        Ok(())
    }
}

/// An error sent inside a stream that began with HTTP 200 (vLLM, llama.cpp,
/// TGI and others do so), judged as the HTTP answer it stands for would be:
/// by its `code`, else its type (`overloaded`, `rate_limit…`), and its
/// message (a context-length error is one).
fn stream_error(chunk: &Value, error: &Value, data: &str) -> StreamError {
    let message = error["message"]
        .as_str()
        .or_else(|| error.as_str())
        .unwrap_or("unknown error");
    let code = error["code"]
        .as_u64()
        .or_else(|| error["code"].as_str().and_then(|code| code.parse().ok()))
        .filter(|code| (400..600).contains(code));
    let kind = [&error["type"], &chunk["error_type"]]
        .into_iter()
        .filter_map(Value::as_str)
        .find_map(|kind| match kind {
            _ if kind.contains("overloaded") => Some(529),
            _ if kind.contains("rate_limit") => Some(429),
            _ => None,
        });
    let status = code.or(kind).unwrap_or(500);
    let failure = match classify_status(u16::try_from(status).unwrap_or(500), None, data.as_bytes())
    {
        Outcome::Failure(failure) => failure,
        Outcome::Success => Failure::transient(),
    };
    StreamError {
        failure,
        message: crate::sanitise::bounded(message),
    }
}

/// Writes OpenAI chunks.
#[derive(Debug)]
pub struct Encoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    usage: Option<Usage>,
}

impl Encoder {
    /// An encoder; `include_usage` adds the usage chunk before `[DONE]`, as
    /// OpenAI does when the client sets `stream_options.include_usage`.
    pub fn new(include_usage: bool) -> Encoder {
        Encoder {
            id: String::new(),
            model: String::new(),
            created: crate::clock::unix_secs(),
            include_usage,
            usage: None,
        }
    }

    fn chunk(&self, choices: Value, usage: Option<Value>) -> Bytes {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        });
        if let Some(usage) = usage {
            chunk["usage"] = usage;
        }
        Bytes::from(format!("data: {chunk}\n\n"))
    }

    fn delta(&self, delta: Value, finish: Option<&str>) -> Bytes {
        self.chunk(
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]),
            None,
        )
    }
}

impl Encode for Encoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut Vec<Bytes>) {
        match event {
            StreamEvent::Start { id, model } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                out.push(self.delta(json!({"role": "assistant", "content": ""}), None));
            }
            StreamEvent::Text(text) => out.push(self.delta(json!({"content": text}), None)),
            StreamEvent::ToolCallStart { index, id, name } => out.push(self.delta(
                json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
                None,
            )),
            StreamEvent::ToolCallArguments { index, fragment } => out.push(self.delta(
                json!({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}),
                None,
            )),
            StreamEvent::Finish(reason) => out.push(self.delta(json!({}), Some(finish_name(*reason)))),
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::End => {
                if let (true, Some(usage)) = (self.include_usage, self.usage) {
                    out.push(self.chunk(json!([]), Some(write_usage(usage))));
                }
                out.push(Bytes::from_static(b"data: [DONE]\n\n"));
            }
        }
    }

    fn error(&mut self, message: &str) -> Bytes {
        error_event(message)
    }

    fn terminator(&self) -> Option<Bytes> {
        Some(Bytes::from_static(b"data: [DONE]\n\n"))
    }

    fn resume(&mut self, at: &Resumption) {
        self.id.clone_from(&at.id);
        self.model.clone_from(&at.model);
    }
}

/// The OpenAI-shaped event that ends a broken stream.
pub fn error_event(message: &str) -> Bytes {
    let event = json!({"error": {"message": message, "type": "upstream_error", "code": "stream_interrupted"}});
    Bytes::from(format!("data: {event}\n\n"))
}

#[cfg(test)]
mod tests {
    use steadfast::FailureKind;

    use super::*;

    fn failure(data: &str) -> (FailureKind, String) {
        let error = Decoder::default()
            .decode(data, &mut Vec::new())
            .map_err(crate::stream::reported)
            .unwrap_err();
        (error.failure.kind, error.message)
    }

    /// Azure's stream opens with a chunk of the prompt's content-filter
    /// verdicts and no choices, its id and model blank (Microsoft's content
    /// filtering article): the answer starts with the chunk after it.
    #[test]
    fn azures_prompt_verdicts_do_not_start_the_answer() {
        let mut decoder = Decoder::default();
        let mut events = Vec::new();
        decoder
            .decode(r#"{"id":"","object":"","created":0,"model":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}],"choices":[],"usage":null}"#, &mut events)
            .unwrap();
        assert_eq!(events, []);
        decoder
            .decode(r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"content_filter_results":{},"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#, &mut events)
            .unwrap();
        assert_eq!(
            events,
            [StreamEvent::Start {
                id: "chatcmpl-1".into(),
                model: "gpt-4o".into()
            }]
        );
    }

    /// Errors sent after an HTTP 200, as the servers send them.
    #[test]
    fn errors_inside_a_stream_are_judged_by_code_type_and_message() {
        // vLLM: an error object with an HTTP code.
        assert_eq!(
            failure(
                r#"{"error":{"object":"error","message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","code":400}}"#
            ),
            (
                FailureKind::ContextLength,
                "This model's maximum context length is 4096 tokens.".into()
            )
        );
        // TGI: the error as a string, its type beside it.
        assert_eq!(
            failure(r#"{"error":"Model is overloaded","error_type":"overloaded"}"#).0,
            FailureKind::Overloaded
        );
        // llama.cpp: a server error mid-generation.
        assert_eq!(
            failure(r#"{"error":{"code":500,"message":"slot unavailable","type":"server_error"}}"#)
                .0,
            FailureKind::Transient
        );
        // OpenAI-style, no code: transient, its message kept as sent (the
        // proxy masks the configured secrets in it, then sanitises it).
        let (kind, message) =
            failure(r#"{"error":{"message":"upstream sk-abcdefghijklmnop failed"}}"#);
        assert_eq!(
            (kind, message.as_str()),
            (
                FailureKind::Transient,
                "upstream sk-abcdefghijklmnop failed"
            )
        );
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "é".repeat(4000));
        assert_eq!(
            failure(&long).1.len(),
            crate::sanitise::MAX_RAW_BYTES,
            "bounded, on a character boundary"
        );
    }
}
