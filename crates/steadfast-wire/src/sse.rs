//! Splitting a byte stream into server-sent events, without copying the
//! events it forwards.

use bytes::{Buf, Bytes, BytesMut};

/// Collects bytes and hands out whole events (the bytes up to and including a
/// blank line), as they arrive. Each byte is scanned about once, however the
/// stream is cut into chunks.
#[derive(Debug, Default)]
pub struct EventSplitter {
    buffer: BytesMut,
    /// How much of `buffer` was searched without finding an event's end.
    scanned: usize,
}

impl EventSplitter {
    /// Adds bytes received from the upstream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete event, if one has arrived, with its terminating blank line.
    pub fn next_event(&mut self) -> Option<Bytes> {
        // A blank line may have begun in the last two bytes searched.
        let start = self.scanned.saturating_sub(2);
        match find_event_end(&self.buffer[start..]) {
            Some(end) => {
                self.scanned = 0;
                Some(self.buffer.split_to(start + end).freeze())
            }
            None => {
                self.scanned = self.buffer.len();
                None
            }
        }
    }

    /// Bytes received after the last complete event.
    pub fn remainder(&self) -> &[u8] {
        self.buffer.chunk()
    }
}

/// The index just past the first blank line (`\n\n` or `\r\n\r\n`).
fn find_event_end(buffer: &[u8]) -> Option<usize> {
    let mut index = 0;
    while index + 1 < buffer.len() {
        if buffer[index] == b'\n' {
            if buffer[index + 1] == b'\n' {
                return Some(index + 2);
            }
            if buffer[index + 1] == b'\r' && buffer.get(index + 2) == Some(&b'\n') {
                return Some(index + 3);
            }
        }
        index += 1;
    }
    None
}

/// The concatenated `data:` lines of one event; `None` for an event without
/// data (comments, keep-alives).
pub fn event_data(event: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(event).ok()?;
    let mut data: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("data:") {
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            match &mut data {
                Some(existing) => {
                    existing.push('\n');
                    existing.push_str(rest);
                }
                None => data = Some(rest.to_owned()),
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_events_across_chunks() {
        let mut splitter = EventSplitter::default();
        splitter.push(b"data: {\"a\":1}\n");
        assert_eq!(splitter.next_event(), None);
        splitter.push(b"\ndata: [DONE]\r\n\r\n: keep\n\ndata: x");
        let first = splitter.next_event().unwrap();
        assert_eq!(event_data(&first).as_deref(), Some("{\"a\":1}"));
        let second = splitter.next_event().unwrap();
        assert_eq!(event_data(&second).as_deref(), Some("[DONE]"));
        let comment = splitter.next_event().unwrap();
        assert_eq!(event_data(&comment), None);
        assert_eq!(splitter.next_event(), None);
        assert_eq!(splitter.remainder(), b"data: x");
    }

    #[test]
    fn joins_multi_line_data() {
        assert_eq!(
            event_data(b"event: x\ndata: one\ndata:two\n\n").as_deref(),
            Some("one\ntwo")
        );
    }
}
