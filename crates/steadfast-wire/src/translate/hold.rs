//! A continuation held back until it is known to join the broken stream:
//! its events are decoded but not written for the client; its text is
//! judged by a [`Splice`], and once accepted the events (less the text that
//! repeats what the client has) wait for the relay to adopt them.

use crate::splice::{Splice, Verdict};
use crate::{FinishReason, StreamEvent};

/// Where a held continuation stands.
#[derive(Debug)]
pub(super) struct Hold {
    splice: Splice,
    accepted: bool,
    /// A finish or usage seen before the text was judged.
    tail: Vec<StreamEvent>,
    /// What the client will get, once adopted.
    pub(super) held: Vec<StreamEvent>,
}

/// What one decoded event did to a held continuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Held {
    /// Still being judged.
    Pending,
    /// Accepted: it carries on the answer.
    Joined,
    /// Accepted, and the continuation's answer is complete.
    Ended,
}

impl Hold {
    pub(super) fn new(splice: Splice) -> Hold {
        Hold {
            splice,
            accepted: false,
            tail: Vec::new(),
            held: Vec::new(),
        }
    }

    /// Whether text of the continuation has arrived.
    pub(super) fn heard(&self) -> bool {
        self.accepted || self.splice.heard()
    }

    /// Takes one decoded event; `Err` with the reason when the continuation
    /// cannot be joined.
    pub(super) fn take(&mut self, event: &StreamEvent) -> Result<Held, &'static str> {
        if self.accepted {
            self.held.push(event.clone());
            return Ok(if *event == StreamEvent::End {
                Held::Ended
            } else {
                Held::Joined
            });
        }
        let verdict = match event {
            StreamEvent::Start { .. } => return Ok(Held::Pending),
            StreamEvent::Text(text) => self.splice.push(text),
            StreamEvent::Finish(FinishReason::Stop | FinishReason::Length)
            | StreamEvent::Usage(_) => {
                self.tail.push(event.clone());
                return Ok(Held::Pending);
            }
            StreamEvent::Finish(_) => return Err("it did not end its answer as text"),
            StreamEvent::ToolCallStart { .. } | StreamEvent::ToolCallArguments { .. } => {
                return Err("it called a tool instead of carrying on the text");
            }
            StreamEvent::End => self.splice.end(),
        };
        match verdict {
            Verdict::Pending => Ok(Held::Pending),
            Verdict::Refuse(why) => Err(why),
            Verdict::Accept(text) => {
                self.accepted = true;
                if !text.is_empty() {
                    self.held.push(StreamEvent::Text(text));
                }
                self.held.append(&mut self.tail);
                if *event == StreamEvent::End {
                    self.held.push(StreamEvent::End);
                    Ok(Held::Ended)
                } else {
                    Ok(Held::Joined)
                }
            }
        }
    }
}
