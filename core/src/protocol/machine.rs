//! [`Machine`]: the parser's state machine, over whatever bytes it is shown.
//!
//! It never looks at how the bytes were split: every decision waits until the
//! bytes it depends on are present, so any chunking of one stream yields the
//! same items, the same counters and the same errors. It owns no stream
//! buffer: [`Parser`](super::Parser) shows it either its bounded buffer or,
//! when nothing is pending, the caller's bytes directly.

use memchr::{memchr, memmem};

use super::assemble::{assemble, assemble_block};
use super::blocks::HeaderMasks;
use super::config::{ParserConfig, Role};
use super::frame::{Frame, FrameKind, Span, offset_u32};
use super::item::{Banner, Item, ParserStats, ProtocolError};
use super::line::{HeaderAt, find_crlf, split_header};

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
    /// Reading a frame's header block, whose first line is read; its masks
    /// so far are in [`Machine::masks`].
    Headers { kind: FrameKind },
    /// Reading the header lines of a legacy `Response: Follows` Command
    /// answer; `next` is where the next line starts.
    FollowsHeaders { next: usize },
    /// Reading a legacy Command body; searched without a match up to `scanned`.
    Body { body_start: usize, scanned: usize },
    /// Reading a headerless answer from the first byte; searched up to
    /// `scanned` for the blank line that may end it.
    Headerless { scanned: usize },
    /// Dropping bytes up to the next terminator; `run_start` is the stream
    /// offset where the oversized frame began.
    Discard {
        terminator: Terminator,
        run_start: u64,
        scanned: usize,
    },
}

/// What one step of the state machine did.
pub(crate) enum Step {
    Continue,
    Wait,
    Emit(Item),
}

/// The parser's state between calls. Offsets in [`State`] are relative to the
/// first byte of the input the machine is shown next.
#[derive(Debug)]
pub(crate) struct Machine {
    pub(crate) config: ParserConfig,
    /// Stream offset of the next byte shown.
    offset: u64,
    state: State,
    pub(crate) failure: Option<ProtocolError>,
    /// Header spans of the frame being read; reused across frames.
    pub(crate) spans: Vec<Span>,
    /// Line masks of the header block being read; reused across frames.
    pub(crate) masks: HeaderMasks,
    /// Index in `spans` of the frame's first `ActionID`, noted while scanning
    /// so correlation never searches the headers again.
    action_id: Option<u32>,
    pub(crate) stats: ParserStats,
    /// Bytes the current step consumed.
    consumed: usize,
    /// Headerless answers awaited: while positive, a block that starts no
    /// frame is read as one instead of being skipped.
    pub(crate) headerless_due: usize,
}

impl Machine {
    pub(crate) fn new(config: ParserConfig) -> Self {
        Self {
            config,
            offset: 0,
            state: Self::initial_state(config),
            failure: None,
            spans: Vec::new(),
            masks: HeaderMasks::default(),
            action_id: None,
            stats: ParserStats::default(),
            consumed: 0,
            headerless_due: 0,
        }
    }

    const fn initial_state(config: ParserConfig) -> State {
        if config.expect_banner {
            State::Banner
        } else {
            State::FrameStart
        }
    }

    /// Forgets the stream; keeps the counters and the span scratch.
    pub(crate) fn reset(&mut self) {
        self.offset = 0;
        self.state = Self::initial_state(self.config);
        self.failure = None;
        self.spans.clear();
    }

    /// Whether the machine is between frames (so no offset refers into the
    /// bytes shown so far).
    pub(crate) const fn between_frames(&self) -> bool {
        matches!(self.state, State::FrameStart)
    }

    /// One step over `input`: what happened, and how many leading bytes of
    /// `input` it consumed (the next call must start after them). An
    /// unrecoverable error consumes exactly the bytes it was decided on (the
    /// bad first line; the resync budget's worth), wherever the input was
    /// cut, so the counters agree for every chunking.
    pub(crate) fn step(&mut self, input: &[u8]) -> (Result<Step, ProtocolError>, usize) {
        if let Some(error) = &self.failure {
            return (Err(error.clone()), 0);
        }
        self.consumed = 0;
        let step = match self.state {
            State::Banner => self.step_banner(input),
            State::FrameStart => Ok(self.step_frame_start(input)),
            State::Headers { kind } => Ok(self.step_headers(input, kind)),
            State::FollowsHeaders { next } => Ok(self.step_follows_headers(input, next)),
            State::Body {
                body_start,
                scanned,
            } => Ok(self.step_body(input, body_start, scanned)),
            State::Headerless { scanned } => Ok(self.step_headerless(input, scanned)),
            State::Discard {
                terminator,
                run_start,
                scanned,
            } => self.step_discard(input, terminator, run_start, scanned),
        };
        (step, self.consumed)
    }

    fn consume(&mut self, count: usize) {
        self.consumed += count;
        self.offset += count as u64;
    }

    /// Records an unrecoverable error decided on the next `skipped` bytes,
    /// which it consumes; `step` checks it before the state.
    fn fail(&mut self, error: ProtocolError, skipped: usize) -> ProtocolError {
        self.consume(skipped);
        self.stats.bytes_skipped += skipped as u64;
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

    fn step_banner(&mut self, input: &[u8]) -> Result<Step, ProtocolError> {
        let available = input;
        let window = &available[..available.len().min(BANNER_LINE_MAX + 2)];
        let (line, decided_on) = match find_crlf(window, 0) {
            Some(end) => (&window[..end], end + 2),
            None if window.len() < BANNER_LINE_MAX + 2 => return Ok(Step::Wait),
            None => (window, window.len()),
        };
        if !line.starts_with(BANNER_PREFIX) || line.len() > BANNER_LINE_MAX {
            let quoted = line[..line.len().min(QUOTE_MAX)].escape_ascii().to_string();
            return Err(self.fail(ProtocolError::NotAmi { first_line: quoted }, decided_on));
        }
        let banner = Banner::new(line);
        let consumed = line.len() + 2;
        self.consume(consumed);
        self.state = State::FrameStart;
        Ok(Step::Emit(Item::Banner(banner)))
    }

    fn step_frame_start(&mut self, input: &[u8]) -> Step {
        let blank = input
            .iter()
            .take_while(|&&byte| byte == b'\r' || byte == b'\n')
            .count();
        if blank > 0 {
            // Extra blank lines between frames are tolerated, not errors.
            self.consume(blank);
            return Step::Continue;
        }
        if self.config.role == Role::Client && starts_event(input) {
            // Most frames: an event's first line needs no more reading (its
            // key is all that decides, and the header block is read whole).
            self.masks.clear();
            return self.step_headers(input, FrameKind::Event);
        }
        let max = self.config.max_frame_size;
        let window = &input[..input.len().min(max)];
        // Leading CRs and LFs were skipped, so no blank line starts here.
        let Some(end) = find_crlf(window, 0) else {
            if window.len() < max {
                return Step::Wait;
            }
            return self.discard(Terminator::BlankLine, 0);
        };
        let start = split_header(&window[..end]).and_then(|(key_end, value_start)| {
            let kind = start_kind(&window[..key_end], self.config.role)?;
            let follows = kind == FrameKind::Response
                && window[value_start..end].eq_ignore_ascii_case(b"Follows");
            Some((key_end, value_start, kind, follows))
        });
        let Some((key_end, value_start, kind, follows)) = start else {
            if self.headerless_due > 0 {
                self.state = State::Headerless { scanned: 0 };
                return Step::Continue;
            }
            return self.resync(end);
        };
        self.spans.clear();
        self.action_id = None;
        if follows {
            let header = HeaderAt {
                key_end,
                value_start,
            };
            record(&mut self.spans, &mut self.action_id, window, 0, end, header);
            self.state = State::FollowsHeaders { next: end + 2 };
            return Step::Continue;
        }
        self.masks.clear();
        self.step_headers(input, kind)
    }

    /// A line that cannot start a frame: the block it begins is damaged, and
    /// none of its lines may start one (an event's tail would read as a
    /// response). Everything through the next blank line is skipped, within
    /// the resynchronisation budget.
    fn resync(&mut self, line_end: usize) -> Step {
        self.stats.protocol_errors += 1;
        self.stats.resyncs += 1;
        self.state = State::Discard {
            terminator: Terminator::BlankLine,
            run_start: self.offset,
            // The blank line may follow this very line: search from its CR.
            scanned: line_end,
        };
        Step::Continue
    }

    /// Waits for the blank line that ends the header block, then reads the
    /// block's lines and emits the frame.
    fn step_headers(&mut self, input: &[u8], kind: FrameKind) -> Step {
        let max = self.config.max_frame_size;
        let window = &input[..input.len().min(max)];
        let Some(block_end) = self.masks.find_block_end(window) else {
            if window.len() < max {
                self.state = State::Headers { kind };
                return Step::Wait;
            }
            // The terminator may start in the window's last three bytes.
            let scanned = window.len() - (BLANK_LINE.len() - 1);
            return self.discard(Terminator::BlankLine, scanned);
        };
        let (frame, malformed) = assemble_block(kind, &window[..block_end], &self.masks);
        self.stats.protocol_errors += malformed;
        Step::Emit(self.deliver(frame, block_end + 2))
    }

    /// Legacy Command: headers end at the first line that is not a
    /// CRLF-terminated header; the raw CLI text follows.
    fn step_follows_headers(&mut self, input: &[u8], mut next: usize) -> Step {
        let kind = FrameKind::Response;
        loop {
            let window_len = input.len().min(self.config.max_frame_size);
            let window = &input[..window_len];
            let Some(newline) = memchr(b'\n', &window[next..]).map(|at| next + at) else {
                if window_len < self.config.max_frame_size {
                    self.state = State::FollowsHeaders { next };
                    return Step::Wait;
                }
                return self.discard(Terminator::EndCommand, next);
            };
            let crlf_line = newline > next && window[newline - 1] == b'\r';
            let line = &window[next..newline.saturating_sub(1).max(next)];
            if crlf_line && line.is_empty() {
                // A blank line after the headers: an ordinary frame after all.
                return Step::Emit(self.emit(input, kind, next, None, newline + 1));
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
            let header = HeaderAt {
                key_end,
                value_start,
            };
            record(
                &mut self.spans,
                &mut self.action_id,
                window,
                next,
                newline - 1,
                header,
            );
            next = newline + 1;
        }
    }

    fn step_body(&mut self, input: &[u8], body_start: usize, scanned: usize) -> Step {
        let max = self.config.max_frame_size;
        let available = input;
        let window = &available[..available.len().min(max)];
        if let Some(at) = memmem::find(&window[scanned..], END_COMMAND) {
            let marker = scanned + at;
            let body = Some((body_start, marker));
            let frame = self.emit(
                input,
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

    /// A headerless answer (the old `Queues`: `queue show` text, a blank
    /// line between entries, two at the end) runs over consecutive blocks
    /// that start no frame. It ends at an empty line right after a block's
    /// blank line, or before a line that starts a frame. Deciding needs the
    /// line after each blank line, so an answer ended by one blank line is
    /// delivered when the next line arrives.
    fn step_headerless(&mut self, input: &[u8], mut scanned: usize) -> Step {
        let max = self.config.max_frame_size;
        let window = &input[..input.len().min(max)];
        loop {
            let Some(blank) = memmem::find(&window[scanned..], BLANK_LINE).map(|at| scanned + at)
            else {
                let rescan = window
                    .len()
                    .saturating_sub(BLANK_LINE.len() - 1)
                    .max(scanned);
                return self.wait_or_discard_headerless(window.len(), rescan);
            };
            let after = blank + BLANK_LINE.len();
            let rest = &window[after..];
            if rest.starts_with(b"\r\n") {
                return Step::Emit(self.emit_headerless(input, blank, after + 2));
            }
            let Some(end) = find_crlf(rest, 0) else {
                return self.wait_or_discard_headerless(window.len(), blank);
            };
            let starts_frame = split_header(&rest[..end])
                .and_then(|(key_end, _)| start_kind(&rest[..key_end], self.config.role))
                .is_some();
            if starts_frame {
                return Step::Emit(self.emit_headerless(input, blank, after));
            }
            // Another entry of the same answer.
            scanned = after;
        }
    }

    fn wait_or_discard_headerless(&mut self, window: usize, scanned: usize) -> Step {
        if window < self.config.max_frame_size {
            self.state = State::Headerless { scanned };
            return Step::Wait;
        }
        // Too large to keep: the awaited answer is spent, and the rest is
        // skipped as a damaged block; the item lets its action end now.
        self.headerless_due -= 1;
        self.discard(Terminator::BlankLine, scanned);
        Step::Emit(Item::HeaderlessTooLarge {
            limit: self.config.max_frame_size,
        })
    }

    /// Emits `[0, content_end)` as a headerless answer, consuming `[0, end)`.
    fn emit_headerless(&mut self, input: &[u8], content_end: usize, end: usize) -> Item {
        let frame = Frame::headerless(&input[..content_end]);
        self.consume(end);
        self.headerless_due -= 1;
        self.stats.frames += 1;
        self.stats.headerless_answers += 1;
        self.state = State::FrameStart;
        Item::Frame(frame)
    }

    fn step_discard(
        &mut self,
        input: &[u8],
        terminator: Terminator,
        run_start: u64,
        scanned: usize,
    ) -> Result<Step, ProtocolError> {
        let pattern = terminator.pattern();
        let limit = self.config.max_resync_bytes;
        let available = input;
        let found = memmem::find(&available[scanned..], pattern);
        let run_end =
            self.offset + found.map_or(available.len(), |at| scanned + at + pattern.len()) as u64;
        if run_end - run_start > limit as u64 {
            // Decided once the run passed its budget: skip exactly that far.
            let over_budget = run_start + limit as u64 + 1 - self.offset;
            let skipped = usize::try_from(over_budget).unwrap_or(available.len());
            return Err(self.fail(ProtocolError::Desynchronized { limit }, skipped));
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
        input: &[u8],
        kind: FrameKind,
        content_end: usize,
        body: Option<(usize, usize)>,
        frame_end: usize,
    ) -> Item {
        let content = &input[..content_end];
        let body = body.map(|(start, end)| (offset_u32(start), offset_u32(end)));
        let frame = assemble(kind, content, &self.spans, self.action_id, body);
        self.deliver(frame, frame_end)
    }

    /// Delivers a frame, consuming `[0, frame_end)`.
    fn deliver(&mut self, frame: Frame, frame_end: usize) -> Item {
        self.consume(frame_end);
        self.stats.frames += 1;
        self.state = State::FrameStart;
        Item::Frame(frame)
    }
}

/// Adds a header's span, noting the frame's first `ActionID`.
fn record(
    spans: &mut Vec<Span>,
    action_id: &mut Option<u32>,
    window: &[u8],
    start: usize,
    end: usize,
    header: HeaderAt,
) {
    if action_id.is_none() && header.is_action_id(&window[start..]) {
        *action_id = Some(offset_u32(spans.len()));
    }
    spans.push(Span::of_line(
        start,
        end,
        start + header.key_end,
        start + header.value_start,
    ));
}

/// Whether `input` starts with `Event:` in any case: one masked word
/// compare (the case bit is ignored in the five letters' lanes only, where
/// it tells nothing but case).
pub(crate) fn starts_event(input: &[u8]) -> bool {
    const EVENT_COLON: u64 = u64::from_le_bytes(*b"event:\0\0");
    const LETTER_CASE: u64 = 0x20_2020_2020;
    input.first_chunk::<6>().is_some_and(|bytes| {
        let mut word = [0; 8];
        word[..6].copy_from_slice(bytes);
        u64::from_le_bytes(word) | LETTER_CASE == EVENT_COLON
    })
}

/// The frame kind a first-line key starts, for this role.
fn start_kind(key: &[u8], role: Role) -> Option<FrameKind> {
    let kind = FrameKind::from_first_key(key)?;
    let allowed = match role {
        Role::Client => kind != FrameKind::Action,
        Role::Server => kind == FrameKind::Action,
    };
    allowed.then_some(kind)
}
