//! AWS's binary event-stream framing of `ConverseStream` answers
//! (`application/vnd.amazon.eventstream`): each frame a prelude, headers
//! (`:message-type` event or exception, `:event-type`/`:exception-type`)
//! and a JSON payload, checked by CRC. Read and written with
//! `aws-smithy-eventstream`; each frame becomes one server-sent event whose
//! data is `{"<type>": <payload>}`, so the rest of the relay reads Bedrock
//! like any other stream.

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder, write_message_to};
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::{Bytes, BytesMut};
use serde_json::Value;

/// Collects bytes and hands out whole frames as server-sent events.
#[derive(Debug, Default)]
pub struct FrameSplitter {
    buffer: BytesMut,
    decoder: MessageFrameDecoder,
}

impl FrameSplitter {
    /// Adds bytes received from the upstream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// Bytes received that are no whole frame yet.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// The next whole frame as `data: {"<type>": <payload>}`, if one has
    /// arrived; an error for bytes that are no frame.
    pub fn next_event(&mut self) -> Result<Option<Bytes>, String> {
        let message = match self.decoder.decode_frame(&mut self.buffer) {
            Ok(DecodedFrame::Complete(message)) => message,
            Ok(DecodedFrame::Incomplete) => return Ok(None),
            Err(error) => return Err(format!("sent a broken event-stream frame: {error}")),
        };
        let name = |key: &str| {
            message.headers().iter().find_map(|header| {
                (header.name().as_str() == key)
                    .then(|| {
                        header
                            .value()
                            .as_string()
                            .ok()
                            .map(|s| s.as_str().to_owned())
                    })
                    .flatten()
            })
        };
        let kind = match name(":message-type").as_deref() {
            Some("exception") => name(":exception-type"),
            Some("error") => name(":error-code"),
            _ => name(":event-type"),
        }
        .unwrap_or_else(|| "unknown".to_owned());
        let payload: Value = serde_json::from_slice(message.payload()).unwrap_or_default();
        let data = serde_json::json!({ kind: payload });
        Ok(Some(Bytes::from(format!("data: {data}\n\n"))))
    }
}

/// One event frame of type `event_type` carrying `payload`.
pub fn event_frame(event_type: &str, payload: &Value) -> Bytes {
    frame(":event-type", event_type, "event", payload)
}

/// One exception frame of type `exception_type` (e.g. `throttlingException`).
pub fn exception_frame(exception_type: &str, message: &str) -> Bytes {
    let payload = serde_json::json!({"message": message});
    frame(":exception-type", exception_type, "exception", &payload)
}

fn frame(
    type_header: &'static str,
    kind: &str,
    message_type: &'static str,
    payload: &Value,
) -> Bytes {
    let message = Message::new(Bytes::from(payload.to_string()))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String(message_type.into()),
        ))
        .add_header(Header::new(
            type_header,
            HeaderValue::String(kind.to_owned().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ));
    let mut out = Vec::new();
    // Writing fails only for headers or payloads over the format's limits.
    let _ = write_message_to(&message, &mut out);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_reads_become_events() {
        let mut bytes = event_frame(
            "contentBlockDelta",
            &serde_json::json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
        )
        .to_vec();
        bytes.extend_from_slice(&exception_frame("throttlingException", "Too many requests"));
        let mut splitter = FrameSplitter::default();
        splitter.push(&bytes[..7]);
        assert_eq!(splitter.next_event(), Ok(None));
        splitter.push(&bytes[7..]);
        let first = splitter.next_event().unwrap().unwrap();
        assert_eq!(
            crate::sse::event_data(&first).unwrap(),
            r#"{"contentBlockDelta":{"contentBlockIndex":0,"delta":{"text":"Hi"}}}"#
        );
        let second = splitter.next_event().unwrap().unwrap();
        assert!(
            std::str::from_utf8(&second)
                .unwrap()
                .contains("throttlingException")
        );
        assert_eq!(splitter.next_event(), Ok(None));
        let mut broken = FrameSplitter::default();
        broken.push(&[0, 0, 0, 16, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(broken.next_event().is_err());
    }
}
