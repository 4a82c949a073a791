//! How the collector answers hits: normally, as Google does, or with a fault a test
//! switched on (`PUT /_collector/mode`).

use std::collections::VecDeque;

/// The collector's answering mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// As Google does: 204 (200 for validation and Universal Analytics).
    Normal,
    /// Every hit gets this status.
    Status(u16),
    /// Hits for this measurement id get this status; others are normal.
    StatusFor(String, u16),
    /// Hits are answered normally, after this many milliseconds.
    Delay(u64),
    /// The next hits get these statuses (with a `Retry-After` in seconds when given), in
    /// order; then answering is normal again.
    Sequence(VecDeque<(u16, Option<u64>)>),
    /// The request is read and never answered; the connection stays open.
    Hang,
    /// The connection is reset once the request is read.
    Reset,
    /// The answer is not HTTP.
    Garbage,
    /// A normal answer, one byte every this many milliseconds.
    Dribble(u64),
    /// Normal answers; the validation server also reports this message.
    ValidationMessage(String),
    /// Every hit and validation gets this status and a body that never ends.
    Endless(u16),
}

/// What to do with one hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Answer with this status (and `Retry-After`), after `delay_ms`.
    Answer {
        /// The status code.
        status: u16,
        /// `Retry-After` in seconds.
        retry_after: Option<u64>,
        /// Wait before answering.
        delay_ms: u64,
    },
    /// Never answer.
    Hang,
    /// Reset the connection.
    Reset,
    /// Answer with bytes that are not HTTP.
    Garbage,
    /// Answer normally, a byte every this many milliseconds.
    Dribble(u64),
    /// Answer with this status and a chunked body that never ends.
    Endless(u16),
}

impl Mode {
    /// Parses the body of `PUT /_collector/mode`: `normal`, `status N`,
    /// `status_for ID N`, `delay MS`, `sequence 503,429:2,204`, `hang`, `reset`,
    /// `garbage`, `dribble MS`, `endless N` or `validation_message TEXT`.
    pub fn parse(text: &str) -> Option<Mode> {
        if let Some(message) = text.trim().strip_prefix("validation_message ") {
            return Some(Mode::ValidationMessage(message.trim().to_owned()));
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["normal"] => Some(Mode::Normal),
            ["status", code] => code.parse().ok().map(Mode::Status),
            ["status_for", id, code] => code.parse().ok().map(|c| Mode::StatusFor((*id).to_owned(), c)),
            ["delay", ms] => ms.parse().ok().map(Mode::Delay),
            ["sequence", steps] => {
                steps.split(',').map(step).collect::<Option<VecDeque<_>>>().map(Mode::Sequence)
            }
            ["hang"] => Some(Mode::Hang),
            ["reset"] => Some(Mode::Reset),
            ["garbage"] => Some(Mode::Garbage),
            ["dribble", ms] => ms.parse().ok().map(Mode::Dribble),
            ["endless", code] => code.parse().ok().map(Mode::Endless),
            _ => None,
        }
    }

    /// The reply to the next hit, for `measurement_id`, whose normal status is `normal`.
    pub fn reply(&mut self, measurement_id: Option<&str>, normal: u16) -> Reply {
        let answer = |status, retry_after, delay_ms| Reply::Answer { status, retry_after, delay_ms };
        match self {
            Mode::Normal | Mode::ValidationMessage(_) => answer(normal, None, 0),
            Mode::Status(code) => answer(*code, None, 0),
            Mode::StatusFor(id, code) if measurement_id == Some(id.as_str()) => answer(*code, None, 0),
            Mode::StatusFor(..) => answer(normal, None, 0),
            Mode::Delay(ms) => answer(normal, None, *ms),
            Mode::Sequence(steps) => match steps.pop_front() {
                Some((status, retry_after)) => answer(status, retry_after, 0),
                None => answer(normal, None, 0),
            },
            Mode::Hang => Reply::Hang,
            Mode::Reset => Reply::Reset,
            Mode::Garbage => Reply::Garbage,
            Mode::Dribble(ms) => Reply::Dribble(*ms),
            Mode::Endless(code) => Reply::Endless(*code),
        }
    }
}

/// `503` or `429:2` (status 429 with `Retry-After: 2`).
fn step(text: &str) -> Option<(u16, Option<u64>)> {
    match text.split_once(':') {
        Some((status, seconds)) => Some((status.parse().ok()?, Some(seconds.parse().ok()?))),
        None => Some((text.parse().ok()?, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!(Mode::parse("normal"), Some(Mode::Normal));
        assert_eq!(Mode::parse("delay 250"), Some(Mode::Delay(250)));
        assert_eq!(
            Mode::parse("sequence 503,429:2,204"),
            Some(Mode::Sequence([(503, None), (429, Some(2)), (204, None)].into()))
        );
        assert_eq!(Mode::parse("hang"), Some(Mode::Hang));
        assert_eq!(Mode::parse("dribble 50"), Some(Mode::Dribble(50)));
        assert_eq!(Mode::parse("endless 200"), Some(Mode::Endless(200)));
        assert_eq!(
            Mode::parse("validation_message Event at index: [0] is odd."),
            Some(Mode::ValidationMessage("Event at index: [0] is odd.".into()))
        );
        for bad in ["nonsense", "status x", "sequence 5x3", "sequence 429:x", ""] {
            assert_eq!(Mode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_sequence_is_used_up_then_answers_are_normal() {
        let mut mode = Mode::parse("sequence 503,429:2").unwrap();
        assert_eq!(mode.reply(None, 204), Reply::Answer { status: 503, retry_after: None, delay_ms: 0 });
        assert_eq!(mode.reply(None, 204), Reply::Answer { status: 429, retry_after: Some(2), delay_ms: 0 });
        assert_eq!(mode.reply(None, 204), Reply::Answer { status: 204, retry_after: None, delay_ms: 0 });
    }
}
