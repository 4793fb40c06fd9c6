//! The canonical chat model every wire format converts to and from. It is
//! close to OpenAI's chat completions (system prompt, messages of text and
//! image parts, tools and tool calls, sampling settings, usage, finish
//! reason), with the system prompt hoisted out of the messages as Anthropic
//! keeps it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::WireError;

/// A chat request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The model named by the client (the route).
    pub model: String,
    /// The system prompt, if any (OpenAI's system and developer messages, joined).
    pub system: Option<String>,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    pub tools: Vec<Tool>,
    /// Whether and which tool the model must call.
    pub tool_choice: Option<ToolChoice>,
    /// The most tokens to generate.
    pub max_tokens: Option<u64>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Sequences that end the answer.
    pub stop: Vec<String>,
    /// Whether the answer is streamed.
    pub stream: bool,
    /// Whether a streamed answer should report usage (OpenAI's
    /// `stream_options.include_usage`).
    pub stream_usage: bool,
    /// The shape the answer must take, if not free text.
    pub response_format: Option<ResponseFormat>,
}

/// A structured answer: OpenAI's `response_format`, the Responses API's
/// `text.format`, Gemini's `responseMimeType` with `responseJsonSchema`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// Any JSON object.
    JsonObject,
    /// JSON that matches a schema.
    JsonSchema {
        /// The schema's name.
        name: String,
        /// The JSON Schema.
        schema: Value,
        /// Whether the schema must be followed exactly (OpenAI's `strict`).
        strict: Option<bool>,
    },
}

impl ResponseFormat {
    /// Reads an OpenAI format object at `at` (`None` for plain text). Chat
    /// completions nest a schema's `name`, `schema` and `strict` under
    /// `json_schema` (`nested`); the Responses API puts them in the format.
    pub(crate) fn read_openai(
        format: &Value,
        nested: bool,
        at: &str,
    ) -> Result<Option<ResponseFormat>, WireError> {
        match format["type"].as_str() {
            None | Some("text") => Ok(None),
            Some("json_object") => Ok(Some(ResponseFormat::JsonObject)),
            Some("json_schema") => {
                let spec = if nested {
                    &format["json_schema"]
                } else {
                    format
                };
                let schema = spec.get("schema").cloned().ok_or_else(|| {
                    WireError::new(format!("{at}: a json_schema format needs a schema."))
                })?;
                Ok(Some(ResponseFormat::JsonSchema {
                    name: spec["name"].as_str().unwrap_or("response").to_owned(),
                    schema,
                    strict: spec["strict"].as_bool(),
                }))
            }
            Some(other) => Err(WireError::new(format!(
                "{at}: format {other:?} cannot be translated."
            ))),
        }
    }

    /// Writes this format as an OpenAI format object (see
    /// [`ResponseFormat::read_openai`] for `nested`).
    pub(crate) fn write_openai(&self, nested: bool) -> Value {
        match self {
            ResponseFormat::JsonObject => json!({"type": "json_object"}),
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => {
                let mut spec = json!({"name": name, "schema": schema});
                if let Some(strict) = strict {
                    spec["strict"] = (*strict).into();
                }
                if nested {
                    json!({"type": "json_schema", "json_schema": spec})
                } else {
                    spec["type"] = "json_schema".into();
                    spec
                }
            }
        }
    }
}

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The user.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call (answering `tool_call_id`).
    Tool,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: Vec<Part>,
    /// Tools the assistant called.
    pub tool_calls: Vec<ToolCall>,
    /// For [`Role::Tool`]: the call this answers.
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A message of plain parts, without tool calls.
    pub fn new(role: Role, content: Vec<Part>) -> Message {
        Message {
            role,
            content,
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A part of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text.
    Text(String),
    /// An image.
    Image(Image),
}

/// An image, by URL or inline.
#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    /// Fetched by the provider from a URL.
    Url(String),
    /// Inline, base64-encoded.
    Base64 {
        /// E.g. `image/png`.
        media_type: String,
        /// The base64 data.
        data: String,
    },
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: Option<String>,
    /// The JSON Schema of its arguments.
    pub parameters: Value,
    /// Whether calls must follow the schema exactly (OpenAI's `strict`), if
    /// the client said.
    pub strict: Option<bool>,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool.
    None,
    /// Some tool.
    Required,
    /// This tool.
    Named(String),
}

/// A call of a tool by the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, echoed by the tool result.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as a JSON text.
    pub arguments: String,
}

/// Why the model stopped (stored by its snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end or a stop sequence.
    Stop,
    /// The token limit.
    Length,
    /// It called tools.
    ToolCalls,
    /// It refused or was filtered.
    ContentFilter,
    /// No model answered: this is the gateway's own answer (a route's
    /// static last answer), written `degraded` where a format has a name for
    /// its own reasons.
    Degraded,
}

/// Tokens used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input: u64,
    /// Generated tokens.
    pub output: u64,
}

impl Usage {
    /// Both together.
    pub fn total(self) -> u64 {
        self.input + self.output
    }
}

/// A whole (non-streamed) answer; its JSON form is how a cache keeps it
/// (see [`replay`](crate::replay)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The upstream's id of the answer.
    pub id: String,
    /// The model that answered.
    pub model: String,
    /// The answer's text (all text blocks, joined).
    pub text: String,
    /// Tools the model called.
    pub tool_calls: Vec<ToolCall>,
    /// Why it stopped.
    pub finish: FinishReason,
    /// Tokens used.
    pub usage: Usage,
}

/// One step of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The answer begins.
    Start {
        /// The upstream's id of the answer.
        id: String,
        /// The model that answers.
        model: String,
    },
    /// More text.
    Text(String),
    /// A tool call begins (`index` counts tool calls from 0).
    ToolCallStart {
        /// Which tool call.
        index: usize,
        /// Its id.
        id: String,
        /// The tool's name.
        name: String,
    },
    /// More of a tool call's JSON arguments.
    ToolCallArguments {
        /// Which tool call.
        index: usize,
        /// The next piece of the arguments text.
        fragment: String,
    },
    /// Why the model stopped.
    Finish(FinishReason),
    /// Tokens used (the whole answer's).
    Usage(Usage),
    /// The answer is complete.
    End,
}

impl StreamEvent {
    /// The events that carry a whole tool call, the `index`th of its answer.
    pub fn whole_tool_call(index: usize, call: &ToolCall) -> [StreamEvent; 2] {
        [
            StreamEvent::ToolCallStart {
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            },
            StreamEvent::ToolCallArguments {
                index,
                fragment: call.arguments.clone(),
            },
        ]
    }

    /// Whether the event carries the answer itself (not just its framing):
    /// the point after which a stream can no longer fail over.
    pub fn is_content(&self) -> bool {
        !matches!(self, StreamEvent::Start { .. } | StreamEvent::Usage(_))
    }
}

/// The text parts of `parts`, joined.
pub(crate) fn joined_text(parts: &[Part]) -> String {
    parts
        .iter()
        .filter_map(|part| match part {
            Part::Text(text) => Some(text.as_str()),
            Part::Image(_) => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}
