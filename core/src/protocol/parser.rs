//! [`Parser`]: a bounded, streaming, chunking-invariant AMI frame parser.
//!
//! The parser never looks at how the bytes were split: every decision waits
//! until the bytes it depends on are buffered, so any chunking of one stream
//! yields the same items, the same counters and the same errors.

use memchr::{memchr, memmem};

use super::config::{ConfigError, ParserConfig, Role};
use super::frame::{Frame, FrameKind, ParsedSpan, Span};
use super::item::{Banner, Item, ParserStats, ProtocolError};
use super::line::{HeaderScan, find_crlf, scan_headers, split_header};

/// The frame terminator: the CRLF of the last line, then an empty line.
const BLANK_LINE: &[u8] = b"\r\n\r\n";
/// The end of a legacy `Response: Follows` Command answer.
const END_COMMAND: &[u8] = b"--END COMMAND--\r\n\r\n";
/// Every AMI banner (and AMI proxies') starts with this.
const BANNER_PREFIX: &[u8] = b"Asterisk Call Manager";
/// A banner line longer than this is not a banner.
const BANNER_LINE_MAX: usize = 1024;
/// How much of a bad first line an error quotes.
const QUOTE_MAX: usize = 64;

/// What ends the stretch of bytes being discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Terminator {
    BlankLine,
    EndCommand,
}

impl Terminator {
    const fn pattern(self) -> &'static [u8] {
        match self {
            Self::BlankLine => BLANK_LINE,
            Self::EndCommand => END_COMMAND,
        }
    }
}

/// Where the parser is in the stream. Offsets are relative to the first
/// unconsumed byte, which is also the start of the frame being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for `Asterisk Call Manager/x.y.z`.
    Banner,
    /// Between frames: skipping blank lines and garbage lines.
    FrameStart,
    /// Reading header lines; `next` is where the next line starts.
    Headers {
        kind: FrameKind,
        next: usize,
        follows: bool,
    },
    /// Reading a legacy Command body; searched without a match up to `scanned`.
    Body { body_start: usize, scanned: usize },
    /// Dropping bytes up to the next terminator; `run_start` is the stream
    /// offset where the oversized frame began.
    Discard {
        terminator: Terminator,
        run_start: u64,
        scanned: usize,
    },
}

/// What one step of the state machine did.
enum Step {
    Continue,
    Wait,
    Emit(Item),
}

/// A streaming AMI parser with a hard memory bound.
///
/// Feed bytes with [`Parser::push`] (it takes what fits under the bound and
/// says how much), then drain items with [`Parser::poll`] until it returns
/// `Ok(None)`. [`Parser::feed`] does both in a loop.
///
/// - A frame larger than [`ParserConfig::max_frame_size`] is discarded and
///   counted; parsing resumes after its terminator.
/// - A line that cannot start a frame (binary, no colon, not `Response:` or
///   `Event:`) is skipped and counted; the next line is tried.
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
    config: ParserConfig,
    buf: Vec<u8>,
    /// First unconsumed byte of `buf`.
    start: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    state: State,
    failure: Option<ProtocolError>,
    /// Header spans of the frame being read; reused across frames.
    spans: Vec<ParsedSpan>,
    stats: ParserStats,
}

impl Parser {
    /// A parser with validated settings. Allocates nothing until the first push.
    ///
    /// # Errors
    /// [`ConfigError`] when a bound is out of its range.
    pub fn new(config: ParserConfig) -> Result<Self, ConfigError> {
        let config = config.validate()?;
        Ok(Self {
            config,
            buf: Vec::new(),
            start: 0,
            offset: 0,
            state: Self::initial_state(config),
            failure: None,
            spans: Vec::new(),
            stats: ParserStats::default(),
        })
    }

    const fn initial_state(config: ParserConfig) -> State {
        if config.expect_banner {
            State::Banner
        } else {
            State::FrameStart
        }
    }

    /// The settings in force.
    #[must_use]
    pub const fn config(&self) -> &ParserConfig {
        &self.config
    }

    /// Counters since creation (kept across [`Parser::reset`]).
    #[must_use]
    pub const fn stats(&self) -> ParserStats {
        self.stats
    }

    /// Bytes buffered and not yet consumed.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Heap bytes held by the parser's buffers.
    #[must_use]
    pub fn heap_size(&self) -> usize {
        self.buf.capacity() + self.spans.capacity() * size_of::<ParsedSpan>()
    }

    /// Copies as much of `input` as fits under the buffer bound and returns
    /// how many bytes it took. Call [`Parser::poll`] until it returns
    /// `Ok(None)` before pushing the rest; after a drain at least
    /// `max_frame_size` bytes always fit. Takes nothing once failed.
    pub fn push(&mut self, input: &[u8]) -> usize {
        if self.failure.is_some() {
            return 0;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let limit = self.config.buffer_limit();
        if self.buf.capacity() < limit {
            self.buf.reserve_exact(limit - self.buf.len());
        }
        let taken = input.len().min(limit - self.buf.len());
        self.buf.extend_from_slice(&input[..taken]);
        self.stats.bytes += taken as u64;
        taken
    }

    /// The next banner or frame, `Ok(None)` when more bytes are needed.
    ///
    /// # Errors
    /// [`ProtocolError`] when the stream cannot be recovered; every later call
    /// returns the same error until [`Parser::reset`].
    pub fn poll(&mut self) -> Result<Option<Item>, ProtocolError> {
        if let Some(error) = &self.failure {
            return Err(error.clone());
        }
        loop {
            let step = match self.state {
                State::Banner => self.step_banner(),
                State::FrameStart => Ok(self.step_frame_start()),
                State::Headers {
                    kind,
                    next,
                    follows,
                } => Ok(self.step_headers(kind, next, follows)),
                State::Body {
                    body_start,
                    scanned,
                } => Ok(self.step_body(body_start, scanned)),
                State::Discard {
                    terminator,
                    run_start,
                    scanned,
                } => self.step_discard(terminator, run_start, scanned),
            }?;
            match step {
                Step::Continue => {}
                Step::Wait => return Ok(None),
                Step::Emit(item) => return Ok(Some(item)),
            }
        }
    }

    /// Pushes all of `input`, handing every item to `sink` as it completes.
    ///
    /// # Errors
    /// The first [`ProtocolError`]; items before it were delivered.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut sink: impl FnMut(Item),
    ) -> Result<(), ProtocolError> {
        loop {
            let taken = self.push(input);
            input = &input[taken..];
            while let Some(item) = self.poll()? {
                sink(item);
            }
            if input.is_empty() {
                return Ok(());
            }
        }
    }

    /// Forgets the stream (for a new connection); keeps buffers and counters.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.offset = 0;
        self.state = Self::initial_state(self.config);
        self.failure = None;
        self.spans.clear();
    }

    /// Forgets the stream and frees every buffer; counters are kept.
    pub fn terminate(&mut self) {
        self.reset();
        self.buf = Vec::new();
        self.spans = Vec::new();
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn consume(&mut self, count: usize) {
        self.start += count;
        self.offset += count as u64;
    }

    /// Records an unrecoverable error; `poll` checks it before the state.
    fn fail(&mut self, error: ProtocolError) -> ProtocolError {
        self.stats.protocol_errors += 1;
        self.failure = Some(error.clone());
        error
    }

    /// Starts discarding an oversized frame that began at the current offset.
    fn discard(&mut self, terminator: Terminator, scanned: usize) -> Step {
        self.stats.frames_discarded += 1;
        self.state = State::Discard {
            terminator,
            run_start: self.offset,
            scanned,
        };
        Step::Continue
    }

    fn step_banner(&mut self) -> Result<Step, ProtocolError> {
        let available = self.available();
        let window = &available[..available.len().min(BANNER_LINE_MAX + 2)];
        let line = match find_crlf(window, 0) {
            Some(end) => &window[..end],
            None if window.len() < BANNER_LINE_MAX + 2 => return Ok(Step::Wait),
            None => window,
        };
        if !line.starts_with(BANNER_PREFIX) || line.len() > BANNER_LINE_MAX {
            let quoted = line[..line.len().min(QUOTE_MAX)].escape_ascii().to_string();
            return Err(self.fail(ProtocolError::NotAmi { first_line: quoted }));
        }
        let banner = Banner::new(line);
        let consumed = line.len() + 2;
        self.consume(consumed);
        self.state = State::FrameStart;
        Ok(Step::Emit(Item::Banner(banner)))
    }

    fn step_frame_start(&mut self) -> Step {
        let available = self.available();
        let blank = available
            .iter()
            .take_while(|&&byte| byte == b'\r' || byte == b'\n')
            .count();
        if blank > 0 {
            // Extra blank lines between frames are tolerated, not errors.
            self.consume(blank);
            return Step::Continue;
        }
        let max = self.config.max_frame_size;
        let window = &available[..available.len().min(max)];
        let Some(end) = find_crlf(window, 0) else {
            if window.len() < max {
                return Step::Wait;
            }
            return self.discard(Terminator::BlankLine, 0);
        };
        let line = &window[..end];
        let start = split_header(line).and_then(|(key_end, value_start)| {
            let kind = start_kind(&line[..key_end], self.config.role)?;
            let follows =
                kind == FrameKind::Response && line[value_start..].eq_ignore_ascii_case(b"Follows");
            Some((span_of(0, end, key_end, value_start), kind, follows))
        });
        let Some((span, kind, follows)) = start else {
            // Not a frame start: skip this one line and try the next.
            self.stats.protocol_errors += 1;
            self.stats.bytes_skipped += (end + 2) as u64;
            self.consume(end + 2);
            return Step::Continue;
        };
        self.spans.clear();
        self.spans.push(ParsedSpan {
            span,
            lowered: None,
        });
        self.state = State::Headers {
            kind,
            next: end + 2,
            follows,
        };
        Step::Continue
    }

    fn step_headers(&mut self, kind: FrameKind, next: usize, follows: bool) -> Step {
        if follows {
            return self.step_follows_headers(kind, next);
        }
        let window_len = self.buffered().min(self.config.max_frame_size);
        let window = &self.buf[self.start..self.start + window_len];
        let spans = &mut self.spans;
        let mut malformed = 0;
        let scan = scan_headers(window, next, |start, end, header| match header {
            Some(header) => spans.push(ParsedSpan {
                span: span_of(
                    start,
                    end,
                    start + header.key_end,
                    start + header.value_start,
                ),
                lowered: header.lowered,
            }),
            // A malformed line inside a frame: drop the line, keep the frame.
            None => malformed += 1,
        });
        self.stats.protocol_errors += malformed;
        match scan {
            HeaderScan::Blank(at) => Step::Emit(self.emit(kind, at, None, at + 2)),
            HeaderScan::Incomplete(at) => self.wait_or_discard_headers(window_len, kind, at, false),
        }
    }

    /// Legacy Command: headers end at the first line that is not a
    /// CRLF-terminated header; the raw CLI text follows.
    fn step_follows_headers(&mut self, kind: FrameKind, mut next: usize) -> Step {
        loop {
            let window_len = self.buffered().min(self.config.max_frame_size);
            let window = &self.buf[self.start..self.start + window_len];
            let Some(newline) = memchr(b'\n', &window[next..]).map(|at| next + at) else {
                return self.wait_or_discard_headers(window_len, kind, next, true);
            };
            let crlf_line = newline > next && window[newline - 1] == b'\r';
            let line = &window[next..newline.saturating_sub(1).max(next)];
            if crlf_line && line.is_empty() {
                // A blank line after the headers: an ordinary frame after all.
                return Step::Emit(self.emit(kind, next, None, newline + 1));
            }
            let header =
                split_header(line).filter(|_| crlf_line && !line.ends_with(b"--END COMMAND--"));
            let Some((key_end, value_start)) = header else {
                self.state = State::Body {
                    body_start: next,
                    scanned: next,
                };
                return Step::Continue;
            };
            self.spans.push(ParsedSpan {
                span: span_of(next, newline - 1, next + key_end, next + value_start),
                lowered: None,
            });
            next = newline + 1;
        }
    }

    fn wait_or_discard_headers(
        &mut self,
        window: usize,
        kind: FrameKind,
        next: usize,
        follows: bool,
    ) -> Step {
        if window < self.config.max_frame_size {
            self.state = State::Headers {
                kind,
                next,
                follows,
            };
            return Step::Wait;
        }
        if follows {
            self.discard(Terminator::EndCommand, next)
        } else {
            // The blank line may start right at `next`: include the CRLF before it.
            self.discard(Terminator::BlankLine, next - 2)
        }
    }

    fn step_body(&mut self, body_start: usize, scanned: usize) -> Step {
        let max = self.config.max_frame_size;
        let available = self.available();
        let window = &available[..available.len().min(max)];
        if let Some(at) = memmem::find(&window[scanned..], END_COMMAND) {
            let marker = scanned + at;
            let body = Some((body_start, marker));
            let frame = self.emit(
                FrameKind::Response,
                marker,
                body,
                marker + END_COMMAND.len(),
            );
            return Step::Emit(frame);
        }
        let rescan = window
            .len()
            .saturating_sub(END_COMMAND.len() - 1)
            .max(body_start);
        if window.len() < max {
            self.state = State::Body {
                body_start,
                scanned: rescan,
            };
            return Step::Wait;
        }
        self.discard(Terminator::EndCommand, rescan)
    }

    fn step_discard(
        &mut self,
        terminator: Terminator,
        run_start: u64,
        scanned: usize,
    ) -> Result<Step, ProtocolError> {
        let pattern = terminator.pattern();
        let limit = self.config.max_resync_bytes;
        let available = self.available();
        let found = memmem::find(&available[scanned..], pattern);
        let run_end =
            self.offset + found.map_or(available.len(), |at| scanned + at + pattern.len()) as u64;
        if run_end - run_start > limit as u64 {
            return Err(self.fail(ProtocolError::Desynchronized { limit }));
        }
        let Some(at) = found else {
            // Keep a tail that may hold the start of the terminator.
            let keep = available.len().min(pattern.len() - 1);
            let drop = available.len() - keep;
            self.stats.bytes_skipped += drop as u64;
            self.consume(drop);
            self.state = State::Discard {
                terminator,
                run_start,
                scanned: 0,
            };
            return Ok(Step::Wait);
        };
        let end = scanned + at + pattern.len();
        self.stats.bytes_skipped += end as u64;
        self.consume(end);
        self.state = State::FrameStart;
        Ok(Step::Continue)
    }

    /// Builds the frame from `[0, content_end)` and consumes `[0, frame_end)`.
    fn emit(
        &mut self,
        kind: FrameKind,
        content_end: usize,
        body: Option<(usize, usize)>,
        frame_end: usize,
    ) -> Item {
        let content = &self.buf[self.start..self.start + content_end];
        let body = body.map(|(start, end)| (offset_u32(start), offset_u32(end)));
        let frame = Frame::assemble(kind, content, &self.spans, body);
        self.consume(frame_end);
        self.stats.frames += 1;
        self.state = State::FrameStart;
        Item::Frame(frame)
    }
}

/// The frame kind a first-line key starts, for this role.
fn start_kind(key: &[u8], role: Role) -> Option<FrameKind> {
    let mut lower = [0u8; 8];
    let key = lower.get_mut(..key.len()).map(|lower| {
        lower.copy_from_slice(key);
        lower.make_ascii_lowercase();
        &*lower
    })?;
    let kind = FrameKind::from_first_key(key)?;
    let allowed = match role {
        Role::Client => kind != FrameKind::Action,
        Role::Server => kind == FrameKind::Action,
    };
    allowed.then_some(kind)
}

/// Frame offsets are below the 4 MiB frame ceiling, so they fit in u32.
fn offset_u32(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

fn span_of(line_start: usize, line_end: usize, key_end: usize, value_start: usize) -> Span {
    Span {
        key_start: offset_u32(line_start),
        key_end: offset_u32(key_end),
        value_start: offset_u32(value_start),
        value_end: offset_u32(line_end),
    }
}
