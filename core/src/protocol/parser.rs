//! [`Parser`]: a bounded, streaming, chunking-invariant AMI frame parser.
//!
//! The parser owns the read buffer and its bound; the decisions are the
//! [`Machine`]'s. When no partial frame is pending, [`Parser::feed`] shows the
//! machine the caller's bytes directly and buffers only the incomplete tail,
//! so most bytes are copied once (into their frame), not twice.

use super::config::{ConfigError, ParserConfig};
use super::frame::Span;
use super::item::{Item, ParserStats, ProtocolError};
use super::machine::{Machine, Step};

/// The first push of [`Parser::feed`] while a partial frame is pending.
const PENDING_STEP: usize = 1024;

/// A streaming AMI parser with a hard memory bound.
///
/// Feed bytes with [`Parser::push`] (it takes what fits under the bound and
/// says how much), then drain items with [`Parser::poll`] until it returns
/// `Ok(None)`. [`Parser::feed`] does both in a loop.
///
/// - A frame larger than [`ParserConfig::max_frame_size`] is discarded and
///   counted; parsing resumes after its terminator.
/// - A line that cannot start a frame (binary, no colon, not `Response:` or
///   `Event:`) marks a damaged block: it and every line after it up to the
///   next blank line are skipped (none of them may start a frame: an event's
///   tail would read as a response), and counted as one resync.
/// - A malformed line inside a frame is skipped and counted; the frame is kept.
/// - When no frame boundary appears within [`ParserConfig::max_resync_bytes`],
///   or the peer's first line is no AMI banner, [`Parser::poll`] returns a
///   [`ProtocolError`] and keeps returning it: the connection must be reset.
///
/// ```
/// use apn_ami_core::protocol::{Item, Parser, ParserConfig};
///
/// let mut parser = Parser::new(ParserConfig::default())?;
/// let mut items = Vec::new();
/// for chunk in [&b"Asterisk Call Manager/11.0.0\r\nResponse: Succ"[..], b"ess\r\nPing: Pong\r\n\r\n"] {
///     parser.feed(chunk, |item| items.push(item))?;
/// }
/// assert!(matches!(&items[0], Item::Banner(b) if b.version() == Some("11.0.0")));
/// let pong = items[1].as_frame().unwrap();
/// assert_eq!(pong.get("ping").unwrap(), "Pong");
/// assert_eq!(parser.stats().frames, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Parser {
    machine: Machine,
    buf: Vec<u8>,
    /// First unconsumed byte of `buf`.
    start: usize,
    /// Bytes copied into `buf` since creation.
    copied: u64,
}

impl Parser {
    /// A parser with validated settings. Allocates nothing until the first push.
    ///
    /// # Errors
    /// [`ConfigError`] when a bound is out of its range.
    pub fn new(config: ParserConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            machine: Machine::new(config.validate()?),
            buf: Vec::new(),
            start: 0,
            copied: 0,
        })
    }

    /// The settings in force.
    #[must_use]
    pub const fn config(&self) -> &ParserConfig {
        &self.machine.config
    }

    /// Counters since creation (kept across [`Parser::reset`]).
    #[must_use]
    pub const fn stats(&self) -> ParserStats {
        self.machine.stats
    }

    /// Bytes copied into the parser's own buffer since creation; every
    /// other byte was parsed where the caller's slice held it. Unlike the
    /// [`stats`](Parser::stats), it depends on how the stream was
    /// chunked: it measures copying, which [`Parser::feed`] keeps to the
    /// bytes of frames cut by a chunk's end.
    #[must_use]
    pub const fn bytes_copied(&self) -> u64 {
        self.copied
    }

    /// Bytes buffered and not yet consumed.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Heap bytes held by the parser's buffers.
    #[must_use]
    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
            + self.machine.spans.capacity() * size_of::<Span>()
            + self.machine.masks.heap_size()
    }

    /// Copies as much of `input` as fits under the buffer bound and returns
    /// how many bytes it took. Call [`Parser::poll`] until it returns
    /// `Ok(None)` before pushing the rest; after a drain at least
    /// `max_frame_size` bytes always fit. Takes nothing once failed.
    pub fn push(&mut self, input: &[u8]) -> usize {
        if self.machine.failure.is_some() {
            return 0;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let limit = self.machine.config.buffer_limit();
        if self.buf.capacity() < limit {
            self.buf.reserve_exact(limit - self.buf.len());
        }
        let taken = input.len().min(limit - self.buf.len());
        self.buf.extend_from_slice(&input[..taken]);
        self.machine.stats.bytes += taken as u64;
        self.copied += taken as u64;
        taken
    }

    /// The next banner or frame, `Ok(None)` when more bytes are needed.
    ///
    /// # Errors
    /// [`ProtocolError`] when the stream cannot be recovered; every later call
    /// returns the same error until [`Parser::reset`].
    pub fn poll(&mut self) -> Result<Option<Item>, ProtocolError> {
        loop {
            let (step, consumed) = self.machine.step(&self.buf[self.start..]);
            self.start += consumed;
            let step = step.inspect_err(|_| self.forget_past_failure())?;
            match step {
                Step::Continue => {}
                Step::Wait => return Ok(None),
                Step::Emit(item) => return Ok(Some(item)),
            }
        }
    }

    /// Parses all of `input`, handing every item to `sink` as it completes.
    ///
    /// Equivalent to pushing and polling in turn, but bytes that arrive while
    /// no partial frame is pending are parsed where they lie; only the
    /// incomplete tail is copied into the buffer.
    ///
    /// # Errors
    /// The first [`ProtocolError`]; items before it were delivered.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut sink: impl FnMut(Item),
    ) -> Result<(), ProtocolError> {
        // How much of `input` goes into the buffer at once while a partial
        // frame is pending: a little at first, since that frame usually
        // ends within a few hundred bytes, then twice as much each time it
        // has not ended (copying a whole read to finish one frame cost a
        // copy of every byte read).
        let mut step = PENDING_STEP;
        loop {
            if self.buffered() == 0 && self.machine.failure.is_none() {
                return self.feed_direct(input, sink);
            }
            // A partial frame is pending: finish it from the buffer, pushing
            // a step at a time so the rest can be read in place.
            let chunk = input;
            let pending = self.buffered();
            let want = chunk.len().min(self.config().max_frame_size).min(step);
            step = step.saturating_mul(2);
            let taken = self.push(&chunk[..want]);
            input = &chunk[taken..];
            if let Some(item) = self.poll()? {
                sink(item);
                if self.start >= pending && self.machine.between_frames() {
                    // The item ended past the pending bytes, between frames:
                    // what the buffer still holds is the end of what was
                    // taken from `chunk`. Read it from there instead.
                    let unread = self.buffered();
                    self.machine.stats.bytes -= unread as u64;
                    input = &chunk[taken - unread..];
                    self.buf.clear();
                    self.start = 0;
                } else {
                    // An item decided by looking ahead (a headerless answer
                    // ends where the next line starts a frame) or one that
                    // left the machine mid-stream: drain the buffer first.
                    while let Some(item) = self.poll()? {
                        sink(item);
                    }
                }
            }
            if input.is_empty() {
                return Ok(());
            }
        }
    }

    /// Parses `input` in place; copies only the incomplete tail.
    fn feed_direct(
        &mut self,
        mut input: &[u8],
        mut sink: impl FnMut(Item),
    ) -> Result<(), ProtocolError> {
        loop {
            let (step, consumed) = self.machine.step(input);
            self.machine.stats.bytes += consumed as u64;
            input = &input[consumed..];
            match step? {
                Step::Continue => {}
                Step::Emit(item) => sink(item),
                Step::Wait => {
                    // The tail is shorter than the buffer bound by construction.
                    let taken = self.push(input);
                    debug_assert_eq!(taken, input.len());
                    return Ok(());
                }
            }
        }
    }

    /// After an unrecoverable error: bytes buffered past the point of
    /// failure were never parsed, so they are dropped and uncounted (the
    /// counters then match whatever chunking brought the stream).
    fn forget_past_failure(&mut self) {
        let unread = self.buffered();
        self.machine.stats.bytes -= unread as u64;
        self.buf.clear();
        self.start = 0;
    }

    /// How many headerless answers the reader awaits (actions such as the old
    /// `Queues`, answered with plain text and no `ActionID`). While
    /// positive, a block that starts no frame is read as one such answer
    /// ([`Frame::is_headerless`](super::Frame::is_headerless)) instead of
    /// being skipped; each delivered answer takes one off.
    pub fn set_headerless_due(&mut self, count: usize) {
        self.machine.headerless_due = count;
    }

    /// Forgets the stream (for a new connection); keeps buffers and counters.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.machine.reset();
    }

    /// Forgets the stream and frees every buffer; counters are kept.
    pub fn terminate(&mut self) {
        self.reset();
        self.buf = Vec::new();
        self.machine.spans = Vec::new();
        self.machine.masks.release();
    }
}
