//! Joining a continuation to a broken stream's text: what another model sent
//! when asked to carry on from the text a client already has is checked
//! against that text before any of it is relayed.
//!
//! - A continuation that starts the answer over is used only if it repeats
//!   the text sent **exactly** (then that part is dropped and the rest
//!   follows).
//! - A model asked in words to carry on (*instructed*, not given the text as
//!   the start of its own turn) that starts over and departs from the text
//!   sent is refused: the client would get two beginnings of one answer. A
//!   start over is told by its first words: the first two words of the text
//!   sent (or [`MIN_RESTART`] bytes of it, if fewer), repeated.
//! - An instructed continuation that repeats the last words sent (an overlap
//!   of at least [`MIN_OVERLAP`] bytes, starting at a word) has them dropped,
//!   and follows without a space put in (it may finish a word cut in two).
//! - Anything else is taken as the rest of the answer. After an instructed
//!   model's fresh turn, a space is put between a last word and a first word
//!   that would otherwise run together (a word the break cut in two is then
//!   shown with a space in it: only a prefilled model continues exactly).
//!
//! The decision waits for [`DECIDE_AFTER`] bytes (or the end of the
//! continuation), and for as long as the continuation keeps repeating the
//! text sent from its start. Each piece is compared once.

/// Bytes of a continuation seen before it is judged, unless it ends sooner
/// or is still repeating the text sent.
pub const DECIDE_AFTER: usize = 64;

/// The most bytes of the start of the text sent that a continuation must
/// repeat to count as starting over (fewer when the first two words are
/// shorter).
pub const MIN_RESTART: usize = 16;

/// The shortest repetition of the end of the text sent that is dropped as an
/// overlap.
pub const MIN_OVERLAP: usize = 8;

/// What to make of a continuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not yet known: more of the continuation is needed.
    Pending,
    /// The continuation carries on from the text sent: relay this text (the
    /// continuation so far, less what repeats the text sent), then the rest
    /// of the continuation as it comes.
    Accept(String),
    /// The continuation cannot be joined to the text sent, for this reason.
    Refuse(&'static str),
}

/// A continuation being checked against the text a client already has.
#[derive(Debug, Clone)]
pub struct Splice {
    sent: String,
    got: String,
    /// The model was asked in words to carry on (its text begins a turn of
    /// its own rather than continuing the text sent).
    instructed: bool,
    /// Bytes of the continuation (blanks before it left out) known to repeat
    /// the start of the text sent, while it does.
    matched: usize,
    /// The continuation stopped repeating the start of the text sent.
    departed: bool,
}

impl Splice {
    /// Checks a continuation of `sent`; `instructed` when the model was asked
    /// in words to carry on rather than given `sent` to continue.
    pub fn new(sent: impl Into<String>, instructed: bool) -> Splice {
        Splice {
            sent: sent.into(),
            got: String::new(),
            instructed,
            matched: 0,
            departed: false,
        }
    }

    /// Adds the next text of the continuation and judges what has come so far.
    pub fn push(&mut self, text: &str) -> Verdict {
        self.got.push_str(text);
        self.compare();
        self.judge(false)
    }

    /// Whether any text of the continuation has arrived.
    pub fn heard(&self) -> bool {
        !self.got.is_empty()
    }

    /// Judges the continuation as it ended, with no more text to come.
    pub fn end(&mut self) -> Verdict {
        self.judge(true)
    }

    /// Extends `matched` over the text added since the last comparison.
    fn compare(&mut self) {
        if self.departed {
            return;
        }
        let anchor = self.sent.trim_start();
        let got = self.got.trim_start();
        let from = self.matched;
        let same = common_prefix(&got[from..], anchor.get(from..).unwrap_or_default());
        self.matched = from + same;
        let more = got.len() > self.matched;
        let anchor_left = anchor.len() > self.matched;
        self.departed = more && anchor_left;
    }

    fn judge(&self, ended: bool) -> Verdict {
        let anchor = self.sent.trim_start();
        let lead = self.got.len() - self.got.trim_start().len();
        let got = &self.got[lead..];
        if got.is_empty() {
            return if ended {
                Verdict::Accept(String::new())
            } else {
                Verdict::Pending
            };
        }
        if !self.departed {
            // Repeating the answer from its start: wait until it has repeated
            // all of it, then take what follows.
            if self.matched == anchor.len() {
                return Verdict::Accept(got[anchor.len()..].to_owned());
            }
            return if ended {
                Verdict::Refuse("it repeated part of the answer already sent and stopped")
            } else {
                Verdict::Pending
            };
        }
        if self.instructed && self.matched >= restart_evidence(anchor) {
            return Verdict::Refuse(
                "it started the answer over and departed from the text already sent",
            );
        }
        if !ended && got.len() < DECIDE_AFTER {
            return Verdict::Pending;
        }
        let repeated = if self.instructed {
            overlap(self.sent.trim_end(), got)
        } else {
            None
        };
        match repeated {
            Some(repeated) => Verdict::Accept(got[repeated..].to_owned()),
            None => Verdict::Accept(self.join(&self.got)),
        }
    }

    /// `rest` as it follows the text sent: no doubled space, and a space
    /// between two words that an instructed model's fresh turn would run
    /// together.
    fn join(&self, rest: &str) -> String {
        let sent_ends_blank = self.sent.ends_with(char::is_whitespace);
        let rest_starts_blank = rest.starts_with(char::is_whitespace);
        if sent_ends_blank && rest_starts_blank {
            return rest.trim_start().to_owned();
        }
        let runs_together = self.instructed
            && !sent_ends_blank
            && !rest_starts_blank
            && !self.sent.is_empty()
            && rest.starts_with(char::is_alphanumeric);
        if runs_together {
            format!(" {rest}")
        } else {
            rest.to_owned()
        }
    }
}

/// How much of the start of `anchor` a continuation repeats to count as
/// starting over: its first two words, or [`MIN_RESTART`] bytes if fewer.
fn restart_evidence(anchor: &str) -> usize {
    let two_words = anchor
        .char_indices()
        .filter(|(_, c)| c.is_whitespace())
        .map(|(at, _)| at)
        .filter(|&at| at > 0)
        .nth(1)
        .unwrap_or(anchor.len());
    two_words.clamp(1, MIN_RESTART)
}

/// Bytes at the start of `a` and `b` that are the same, on a char boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or_else(|| a.len().min(b.len()), |((index, _), _)| index)
}

/// The length of the longest start of `got` (at least [`MIN_OVERLAP`]
/// bytes) that `sent` ends with, beginning at a word of `sent`. It may end
/// inside a word of `got` when `sent` ended inside it (`… is rate-lim` then
/// `is rate-limited …`): what follows is the rest of that word.
fn overlap(sent: &str, got: &str) -> Option<usize> {
    let longest = got.len().min(sent.len());
    (MIN_OVERLAP..=longest).rev().find(|&length| {
        got.is_char_boundary(length) && sent.ends_with(&got[..length]) && {
            let start = sent.len() - length;
            sent[..start].is_empty() || sent[..start].ends_with(char::is_whitespace)
        }
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SENT: &str = "The gateway keeps answering when the provider behind it";
    const REST: &str = " stalls, fails or rate-limits the caller.";

    /// What the client ends up with when `continuation` arrives word by
    /// word after `sent`, or why it was refused.
    fn joined(sent: &str, continuation: &str, instructed: bool) -> Result<String, &'static str> {
        let mut splice = Splice::new(sent, instructed);
        let mut out = sent.to_owned();
        let mut accepted = false;
        for piece in continuation.split_inclusive(' ') {
            if accepted {
                out.push_str(piece);
                continue;
            }
            match splice.push(piece) {
                Verdict::Pending => {}
                Verdict::Accept(text) => {
                    out.push_str(&text);
                    accepted = true;
                }
                Verdict::Refuse(why) => return Err(why),
            }
        }
        if !accepted {
            match splice.end() {
                Verdict::Accept(text) => out.push_str(&text),
                Verdict::Refuse(why) => return Err(why),
                Verdict::Pending => unreachable!("an ended splice is judged"),
            }
        }
        Ok(out)
    }

    #[test]
    fn an_exact_restart_is_joined_after_what_was_sent() {
        assert_eq!(
            joined(SENT, &format!("{SENT}{REST}"), true),
            Ok(format!("{SENT}{REST}"))
        );
    }

    #[test]
    fn a_restart_that_departs_is_refused() {
        let restart = "The gateway keeps working whatever happens upstream, always.";
        assert!(joined(SENT, restart, true).is_err());
    }

    #[test]
    fn a_restart_that_stops_short_is_refused_at_its_end() {
        let mut splice = Splice::new(SENT, true);
        assert_eq!(splice.push("The gateway keeps "), Verdict::Pending);
        assert!(matches!(splice.end(), Verdict::Refuse(_)));
    }

    #[test]
    fn a_prefilled_continuation_is_taken_as_it_comes() {
        let mut splice = Splice::new(SENT, false);
        assert_eq!(
            splice.push(REST),
            Verdict::Pending,
            "too short to judge yet"
        );
        assert_eq!(splice.end(), Verdict::Accept(REST.into()));
    }

    #[test]
    fn repeated_last_words_are_dropped() {
        let repeated = "the provider behind it stalls, fails or rate-limits the caller.";
        assert_eq!(joined(SENT, repeated, true), Ok(format!("{SENT}{REST}")));
    }

    #[test]
    fn an_instructed_first_word_is_not_run_into_the_last() {
        let fresh = "stalls, fails or rate-limits the caller, the gateway still answers.";
        assert_eq!(joined(SENT, fresh, true), Ok(format!("{SENT} {fresh}")));
        let cut = "ck brown fox jumps over the lazy dog and keeps running far away.";
        assert_eq!(joined("The qui", cut, false), Ok(format!("The qui{cut}")));
    }

    #[test]
    fn an_instructed_restart_in_other_words_is_refused_by_its_first_words() {
        assert!(
            joined(
                "Sure! Here is",
                "Sure! Here's a quick summary of the answer you asked for, in full.",
                true
            )
            .is_err()
        );
        assert!(
            joined(
                "Here are the three reasons",
                "Here are three reasons why the gateway keeps answering when providers fail.",
                true
            )
            .is_err()
        );
        // A model given the text to continue is taken at its word.
        assert_eq!(
            joined(
                "Yes. ",
                "Yes, and the second point follows from the first one entirely.",
                false
            ),
            Ok("Yes. Yes, and the second point follows from the first one entirely.".into())
        );
    }

    #[test]
    fn a_word_cut_in_two_is_finished_by_its_overlap_without_a_space() {
        assert_eq!(
            joined(
                "Retries wait when the caller is rate-lim",
                "is rate-limited and the gateway keeps answering from the next model.",
                true
            ),
            Ok("Retries wait when the caller is rate-limited and the gateway keeps answering from the next model.".into())
        );
    }

    #[test]
    fn a_prefilled_continuation_keeps_what_merely_looks_repeated() {
        let sent = "| x | N/A | N/A |";
        let rest = " N/A | N/A |\n| y | 1 | 2 | and the table goes on for a while longer.";
        assert_eq!(joined(sent, rest, false), Ok(format!("{sent}{rest}")));
    }

    #[test]
    fn judging_a_long_restart_compares_each_piece_once() {
        // A megabyte repeated word by word: quadratic comparing would not end.
        let sent = "word ".repeat(200_000);
        let mut splice = Splice::new(sent.as_str(), true);
        let mut verdict = Verdict::Pending;
        for piece in sent.split_inclusive(' ') {
            verdict = splice.push(piece);
        }
        assert_eq!(verdict, Verdict::Accept(String::new()));
    }

    #[test]
    fn a_blank_between_the_parts_is_not_doubled() {
        assert_eq!(
            joined("Hello there. ", " General Kenobi.", false),
            Ok("Hello there. General Kenobi.".into())
        );
    }

    #[test]
    fn a_continuation_that_repeats_the_whole_answer_and_ends_adds_nothing() {
        assert_eq!(joined(SENT, SENT, true), Ok(SENT.into()));
    }

    fn words(range: std::ops::Range<usize>) -> impl Strategy<Value = String> {
        prop::collection::vec("[a-z]{1,8}[,.]?", range).prop_map(|words| words.join(" "))
    }

    proptest! {
        /// Whatever the answer and wherever it broke, a model that starts over
        /// and says the same thing yields the answer once, whole.
        #[test]
        fn an_exact_restart_always_yields_the_whole_answer(
            answer in words(2..60), cut in 1usize..1000, instructed in any::<bool>(),
        ) {
            let mut cut = cut % answer.len();
            while !answer.is_char_boundary(cut) { cut -= 1; }
            let sent = &answer[..cut.max(1)];
            prop_assert_eq!(joined(sent, &answer, instructed), Ok(answer.clone()));
        }

        /// A model given the text to continue (prefill) that sends exactly the
        /// rest yields the whole answer (unless the rest begins like the
        /// answer — its first word starting with all the text sent, as ` ya`
        /// after `y` — or repeats its last words, which reads as a repetition).
        #[test]
        fn a_prefilled_rest_yields_the_whole_answer(
            answer in words(2..60), cut in 1usize..1000,
        ) {
            let cut = answer[..cut % answer.len()].rfind(' ').unwrap_or(0);
            prop_assume!(cut > 0);
            let (sent, rest) = answer.split_at(cut);
            let first_word = rest.trim_start().split(' ').next().unwrap_or_default();
            prop_assume!(!sent.starts_with(first_word));
            prop_assume!(!rest.trim_start().starts_with(sent.trim_start()));
            prop_assert_eq!(joined(sent, rest, false), Ok(answer.clone()));
        }

        /// A restart that departs from the text sent after repeating enough of
        /// it is never joined.
        #[test]
        fn a_departing_restart_is_never_joined(
            sent in words(4..40), other in words(3..20),
        ) {
            prop_assume!(sent.len() > MIN_RESTART + 1);
            let mut keep = MIN_RESTART + (sent.len() - MIN_RESTART) / 2;
            while !sent.is_char_boundary(keep) { keep -= 1; }
            prop_assume!(keep >= MIN_RESTART);
            let departing = format!("{}#{other}", &sent[..keep]);
            prop_assert!(joined(&sent, &departing, true).is_err());
        }
    }
}
