//! What watches a stream's canonical events on their way to the client,
//! beside the encoder: the answer's text (for a broken stream's
//! resumption) and the whole answer (for a cache). The translator decodes,
//! encodes and publishes each event here.

use crate::StreamEvent;
use crate::model::ChatResponse;
use crate::replay::Assembler;

/// The most answer text kept for a stream's resumption (bytes); a longer
/// answer that breaks ends with an error instead of a continuation.
pub const MAX_TRACKED_TEXT: usize = 1024 * 1024;

/// The taps of one client stream.
#[derive(Default)]
pub(super) struct Taps {
    /// The answer's text.
    pub(super) text: TextTap,
    /// The whole answer being put together, if asked for.
    capture: Option<Assembler>,
}

impl Taps {
    /// Whether a tap needs every event decoded (OpenAI passed through is
    /// otherwise only skimmed).
    pub(super) fn want_every_event(&self) -> bool {
        self.text.wanted() || self.capture.is_some()
    }

    /// Publishes one event on its way to the client.
    pub(super) fn publish(&mut self, item: &StreamEvent) {
        self.text.publish(item);
        if let Some(capture) = &mut self.capture {
            capture.push(item);
        }
    }

    /// Puts the whole answer together from now on, giving up past `limit` bytes.
    pub(super) fn capture(&mut self, limit: usize) {
        self.capture = Some(Assembler::new(limit));
    }

    /// The whole answer put together, once the stream has ended within the bound.
    pub(super) fn captured(&mut self) -> Option<ChatResponse> {
        self.capture.take().and_then(Assembler::finish)
    }
}

/// The answer's text, kept while it stays within [`MAX_TRACKED_TEXT`], and
/// whether tool calls were relayed (a stream that cannot be carried on as text).
#[derive(Default)]
pub(super) struct TextTap {
    /// Whether the text is kept; `None` until relaying starts (kept until then).
    on: Option<bool>,
    text: String,
    /// Where the current upstream's text begins (after a resumption).
    mark: usize,
    /// The text outgrew [`MAX_TRACKED_TEXT`]: no longer kept.
    dropped: bool,
    tool_calls: bool,
}

impl TextTap {
    /// Sets whether the text is kept once relaying starts.
    pub(super) fn relaying(&mut self, keep: bool) {
        self.on = Some(keep);
    }

    /// Whether relaying has started.
    pub(super) fn is_relaying(&self) -> bool {
        self.on.is_some()
    }

    /// Whether the text is kept.
    fn wanted(&self) -> bool {
        self.on != Some(false)
    }

    fn publish(&mut self, item: &StreamEvent) {
        match item {
            StreamEvent::Text(more) if self.wanted() && !self.dropped => {
                if self.text.len() + more.len() > MAX_TRACKED_TEXT {
                    self.dropped = true;
                    self.text = String::new();
                } else {
                    self.text.push_str(more);
                }
            }
            StreamEvent::ToolCallStart { .. } | StreamEvent::ToolCallArguments { .. } => {
                self.tool_calls = true;
            }
            _ => {}
        }
    }

    /// The text kept so far.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// The length of the text since the current upstream took over.
    pub(super) fn since_mark(&self) -> usize {
        self.text.len().saturating_sub(self.mark)
    }

    /// A new upstream takes over from here.
    pub(super) fn mark(&mut self) {
        self.mark = self.text.len();
    }

    /// Whether another target could carry on the text: all of it kept, no
    /// tool call relayed.
    pub(super) fn continuable(&self) -> bool {
        !self.dropped && !self.tool_calls
    }
}
