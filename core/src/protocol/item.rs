//! What the parser yields: items, counters and errors.

use super::frame::Frame;

/// One thing read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// The `Asterisk Call Manager/x.y.z` line a server sends first.
    Banner(Banner),
    /// A complete frame.
    Frame(Frame),
    /// An awaited headerless answer passed the frame size limit (`limit`
    /// bytes) and was discarded: it takes the place of that answer, so the
    /// action awaiting it can end at once.
    HeaderlessTooLarge {
        /// The frame size limit in force.
        limit: usize,
    },
}

impl Item {
    /// The frame, if this item is one.
    #[must_use]
    pub fn into_frame(self) -> Option<Frame> {
        match self {
            Self::Frame(frame) => Some(frame),
            Self::Banner(_) | Self::HeaderlessTooLarge { .. } => None,
        }
    }

    /// A reference to the frame, if this item is one.
    #[must_use]
    pub const fn as_frame(&self) -> Option<&Frame> {
        match self {
            Self::Frame(frame) => Some(frame),
            Self::Banner(_) | Self::HeaderlessTooLarge { .. } => None,
        }
    }
}

/// The greeting line of an AMI server.
///
/// The version says little about formats (AMI 2.8.0 shipped with both Command
/// formats): formats are detected from the bytes, never from this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    line: Box<str>,
}

impl Banner {
    pub(crate) fn new(line: &[u8]) -> Self {
        Self {
            line: String::from_utf8_lossy(line).into(),
        }
    }

    /// The whole line, e.g. `Asterisk Call Manager/11.0.0`.
    #[must_use]
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The text after the last `/`, e.g. `11.0.0`.
    #[must_use]
    pub fn version(&self) -> Option<&str> {
        self.line.rsplit_once('/').map(|(_, version)| version)
    }
}

/// Counters a parser keeps for the metrics layer; they survive resets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParserStats {
    /// Frames delivered (headerless answers included).
    pub frames: u64,
    /// Headerless answers delivered (see [`Parser::set_headerless_due`](super::Parser::set_headerless_due)).
    pub headerless_answers: u64,
    /// Bytes of the stream taken in (parsed in place or buffered); after an
    /// unrecoverable error, exactly the bytes through the point where it
    /// was decided, whatever the chunking.
    pub bytes: u64,
    /// Blocks that could not start a frame, malformed lines inside frames,
    /// and unrecoverable errors.
    pub protocol_errors: u64,
    /// Damaged blocks skipped through their blank line: a first line that
    /// could not start a frame, and every line after it up to the next
    /// blank line (none of them may start a frame).
    pub resyncs: u64,
    /// Frames discarded for exceeding the size limit.
    pub frames_discarded: u64,
    /// Bytes skipped as garbage or as part of discarded frames.
    pub bytes_skipped: u64,
}

/// The stream cannot be parsed any further: reset the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The first line is not an `Asterisk Call Manager/…` banner: the peer is
    /// not an AMI server (or speaks TLS where plain text was expected).
    #[error("the peer is not an AMI server: its first line {first_line:?} is no AMI banner")]
    NotAmi {
        /// The start of that line, escaped.
        first_line: String,
    },
    /// No frame boundary appeared within the resynchronisation budget.
    #[error("no frame boundary within {limit} bytes: the stream cannot be resynchronised")]
    Desynchronized {
        /// The budget, in bytes.
        limit: usize,
    },
}
