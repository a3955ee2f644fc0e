//! [`Frame`]: one parsed AMI message, an ordered multimap of headers.

use std::fmt;

use super::value::Value;

/// What a frame is, decided by its first line only.
///
/// `OriginateResponse` events carry a `Response:` header too; they are still
/// events because their first line is `Event:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// First line `Response: …` — the answer to an action.
    Response,
    /// First line `Event: …` — an event, a list item or a list's end.
    Event,
    /// First line `Action: …` — what a client sends (seen by a server-side parser).
    Action,
}

impl FrameKind {
    /// The kind whose first-line key is `key`, in any case.
    pub(crate) fn from_first_key(key: &[u8]) -> Option<Self> {
        // The length first: one compare rules out most keys.
        let (name, kind) = match key.len() {
            8 => (b"response".as_slice(), Self::Response),
            5 => (b"event".as_slice(), Self::Event),
            6 => (b"action".as_slice(), Self::Action),
            _ => return None,
        };
        key.eq_ignore_ascii_case(name).then_some(kind)
    }
}

/// Where one header sits inside a frame's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) key_start: u32,
    pub(crate) key_end: u32,
    pub(crate) value_start: u32,
    pub(crate) value_end: u32,
}

/// Bytes one [`Span`] takes in a frame's span table.
pub(crate) const SPAN_BYTES: usize = 16;

/// Frame offsets are below the 4 MiB frame ceiling, so they fit in u32.
// A plain conversion: a checked one costs a compare and a move per offset,
// four per header line, on the parser's hottest path.
#[allow(clippy::cast_possible_truncation)]
pub(crate) const fn offset_u32(offset: usize) -> u32 {
    debug_assert!(offset <= u32::MAX as usize);
    offset as u32
}

impl Span {
    /// The span of a header line `[line_start, line_end)` whose key ends
    /// at `key_end` and whose value starts at `value_start`.
    pub(crate) const fn of_line(
        line_start: usize,
        line_end: usize,
        key_end: usize,
        value_start: usize,
    ) -> Self {
        Self {
            key_start: offset_u32(line_start),
            key_end: offset_u32(key_end),
            value_start: offset_u32(value_start),
            value_end: offset_u32(line_end),
        }
    }

    /// The span as it is stored in a frame's span table.
    pub(crate) fn to_bytes(self) -> [u8; SPAN_BYTES] {
        let mut out = [0; SPAN_BYTES];
        let words = [
            self.key_start,
            self.key_end,
            self.value_start,
            self.value_end,
        ];
        for (bytes, word) in out.chunks_exact_mut(4).zip(words) {
            bytes.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    #[inline]
    pub(crate) fn read_from(table: &[u8; SPAN_BYTES]) -> Self {
        let (words, _) = table.as_chunks::<4>();
        Self {
            key_start: u32::from_le_bytes(words[0]),
            key_end: u32::from_le_bytes(words[1]),
            value_start: u32::from_le_bytes(words[2]),
            value_end: u32::from_le_bytes(words[3]),
        }
    }
}

/// One AMI message: its kind and its headers, in wire order.
///
/// Keys are normalised to lowercase (the part before a `(`, so the channel in
/// `ChanVariable(PJSIP/100-0000001)` keeps its case); lookups ignore ASCII case.
/// Every value of a repeated key is kept in order. Values are bytes
/// ([`Value`]), lossless.
///
/// A frame is one heap allocation: its bytes and its header table share one
/// buffer, so it never pins the parser's read buffer and its cost is exactly
/// [`Frame::heap_size`].
///
/// ```
/// use apn_ami_core::protocol::{FrameKind, Parser, ParserConfig};
///
/// let mut parser = Parser::new(ParserConfig::default().expect_banner(false))?;
/// let mut frames = Vec::new();
/// parser.feed(b"Event: VarSet\r\nVariable: A\r\nVariable: B\r\nvalue:x\r\n\r\n", |item| {
///     frames.push(item.into_frame().expect("a frame"));
/// })?;
/// let frame = &frames[0];
/// assert_eq!(frame.kind(), FrameKind::Event);
/// assert_eq!(frame.get("VARIABLE").unwrap(), "A");
/// assert_eq!(frame.get_all("variable").count(), 2);
/// assert_eq!(frame.get("Value").unwrap(), "x");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    kind: FrameKind,
    /// The frame's header lines (and legacy Command body), then the span table.
    storage: Box<[u8]>,
    /// Where the span table starts in `storage`.
    table_at: u32,
    /// The legacy Command body, as a range of `storage`.
    body: Option<(u32, u32)>,
    /// Index of the first `ActionID` header, found while parsing.
    action_id: Option<u32>,
}

impl Frame {
    /// A headerless answer: `content` is its text, kept whole as the body.
    pub(crate) fn headerless(content: &[u8]) -> Self {
        let end = u32::try_from(content.len()).unwrap_or(u32::MAX);
        Self {
            kind: FrameKind::Response,
            storage: content.into(),
            table_at: end,
            body: Some((0, end)),
            action_id: None,
        }
    }

    /// A frame from its one allocation: its bytes (keys lowercased), then
    /// from `table_at` its span table.
    pub(crate) fn from_parts(
        kind: FrameKind,
        storage: Box<[u8]>,
        table_at: u32,
        action_id: Option<u32>,
        body: Option<(u32, u32)>,
    ) -> Self {
        Self {
            kind,
            storage,
            table_at,
            body,
            action_id,
        }
    }

    /// Response, event or action, from the first line.
    #[must_use]
    pub const fn kind(&self) -> FrameKind {
        self.kind
    }

    /// Number of headers (repeated keys count once per occurrence).
    #[must_use]
    pub fn len(&self) -> usize {
        (self.storage.len() - self.table_at as usize) / SPAN_BYTES
    }

    /// Whether the frame has no header. Never true for a parsed frame, whose
    /// first line is a header.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub(crate) fn span(&self, index: usize) -> Span {
        Span::read_from(&self.span_table()[index])
    }

    /// Every header's span, in wire order (one pass over the table, no
    /// index arithmetic per header).
    #[inline]
    pub(crate) fn spans(&self) -> impl Iterator<Item = Span> + '_ {
        self.span_table().iter().map(Span::read_from)
    }

    /// The span table, a whole array per span (so reading one checks no
    /// bounds).
    #[inline]
    fn span_table(&self) -> &[[u8; SPAN_BYTES]] {
        self.storage[self.table_at as usize..].as_chunks().0
    }

    /// The bytes every span points into (the table excluded).
    #[inline]
    pub(crate) fn text_bytes(&self) -> &[u8] {
        &self.storage[..self.table_at as usize]
    }

    /// The eight bytes from the start of `span`'s key and the eight that
    /// end at its end, whatever else they cover (the key's line before
    /// or after it, the span table behind the text); zeros where they
    /// would leave the storage.
    #[inline]
    pub(crate) fn key_words(&self, span: Span) -> ([u8; 8], [u8; 8]) {
        let word_at = |at: usize| {
            self.storage
                .get(at..)
                .and_then(|rest| rest.first_chunk().copied())
                .unwrap_or_default()
        };
        let end = span.key_end as usize;
        (
            word_at(span.key_start as usize),
            end.checked_sub(8).map(word_at).unwrap_or_default(),
        )
    }

    #[inline]
    pub(crate) fn key_bytes(&self, span: Span) -> &[u8] {
        &self.storage[span.key_start as usize..span.key_end as usize]
    }

    fn key_of(&self, span: Span) -> &str {
        // Keys are ASCII but for what a `UserEvent` relays; a key that is
        // not UTF-8 reads as empty here and exactly in `raw_headers`.
        std::str::from_utf8(self.key_bytes(span)).unwrap_or_default()
    }

    #[inline]
    pub(crate) fn value_of(&self, span: Span) -> Value<'_> {
        Value::new(&self.storage[span.value_start as usize..span.value_end as usize])
    }

    /// The header at `index` in wire order, if there is one.
    pub(crate) fn header(&self, index: usize) -> Option<(&str, Value<'_>)> {
        (index < self.len()).then(|| {
            let span = self.span(index);
            (self.key_of(span), self.value_of(span))
        })
    }

    /// Every header in wire order: normalised key and value. A key is
    /// text when it is UTF-8, which every key Asterisk writes itself is; a
    /// key relayed from a client's `UserEvent` in another encoding reads as
    /// `""` here, and exactly in [`Frame::raw_headers`].
    pub fn headers(&self) -> impl Iterator<Item = (&str, Value<'_>)> + '_ {
        (0..self.len()).map(|index| {
            let span = self.span(index);
            (self.key_of(span), self.value_of(span))
        })
    }

    /// Every header in wire order with its key's exact bytes (ASCII letters
    /// lowercased, up to the first `(`): nothing a server relays is lost.
    pub fn raw_headers(&self) -> impl Iterator<Item = (Value<'_>, Value<'_>)> + '_ {
        (0..self.len()).map(|index| {
            let span = self.span(index);
            (Value::new(self.key_bytes(span)), self.value_of(span))
        })
    }

    /// Spans whose key equals `key` ignoring ASCII case. Compares bytes:
    /// looking a header up never validates or converts text.
    fn spans_of<'s, 'k>(&'s self, key: &'k str) -> impl Iterator<Item = Span> + use<'s, 'k> {
        (0..self.len())
            .map(|index| self.span(index))
            .filter(move |span| {
                self.storage[span.key_start as usize..span.key_end as usize]
                    .eq_ignore_ascii_case(key.as_bytes())
            })
    }

    /// The first value of `key`, compared ignoring ASCII case.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<Value<'_>> {
        self.spans_of(key).next().map(|span| self.value_of(span))
    }

    /// Every value of `key`, in wire order.
    pub fn get_all<'s, 'k>(
        &'s self,
        key: &'k str,
    ) -> impl Iterator<Item = Value<'s>> + use<'s, 'k> {
        self.spans_of(key).map(|span| self.value_of(span))
    }

    /// The value of the first line: `Success`, `Error`, `Follows`, `Goodbye`
    /// for a response, the event name for an event, the action name for an
    /// action; empty for a [headerless answer](Frame::is_headerless).
    #[must_use]
    pub fn first_value(&self) -> Value<'_> {
        if self.is_empty() {
            return Value::new(b"");
        }
        self.value_of(self.span(0))
    }

    /// Whether this is a headerless answer: the plain text an old module
    /// answers with (the `Queues` action up to Asterisk 14 answers with the
    /// text of `queue show`), no `Response:`, no `ActionID:`. Its bytes are
    /// in [`Frame::follows_body`]; it has no header.
    #[must_use]
    pub fn is_headerless(&self) -> bool {
        self.is_empty() && self.body.is_some()
    }

    /// The (first) `ActionID` header, if any. The parser notes where it
    /// is while scanning, so this is a field read, not a search.
    #[must_use]
    pub fn action_id(&self) -> Option<Value<'_>> {
        self.action_id
            .map(|index| self.value_of(self.span(index as usize)))
    }

    /// The raw CLI text of a legacy `Response: Follows` Command answer
    /// (Asterisk 13 and older), between the headers and `--END COMMAND--`,
    /// byte for byte (bare `\n` line ends included); or the whole text of a
    /// [headerless answer](Frame::is_headerless), its CRLF lines up to the
    /// blank line that ends it. `None` for every other frame.
    #[must_use]
    pub fn follows_body(&self) -> Option<&[u8]> {
        self.body
            .map(|(start, end)| &self.storage[start as usize..end as usize])
    }

    /// Channel variables in every wire form, in order:
    /// `ChanVariable(<channel>): NAME=value`, `ChanVariable: NAME=value`,
    /// and the prefixed forms Asterisk 12+ writes for each channel of an
    /// event (`DestChanVariable: NAME=value`, any `<prefix>ChanVariable`).
    pub fn chan_variables(&self) -> impl Iterator<Item = ChanVariable<'_>> + '_ {
        self.headers().filter_map(|(key, value)| {
            let (name, channel) = match key.split_once('(') {
                Some((name, rest)) => (name, Some(rest.strip_suffix(')')?)),
                None => (key, None),
            };
            let prefix = name.strip_suffix("chanvariable")?;
            let bytes = value.as_bytes();
            let equals = memchr::memchr(b'=', bytes).unwrap_or(bytes.len());
            let value_start = (equals + 1).min(bytes.len());
            Some(ChanVariable {
                prefix: (!prefix.is_empty()).then_some(prefix),
                channel,
                name: Value::new(&bytes[..equals]),
                value: Value::new(&bytes[value_start..]),
            })
        })
    }

    /// The first `len` bytes of the frame's buffer (its copied content).
    #[cfg(test)]
    pub(crate) fn storage_prefix(&self, len: usize) -> &[u8] {
        &self.storage[..len]
    }

    /// Heap bytes this frame owns (its one allocation), for memory budgets.
    #[must_use]
    pub fn heap_size(&self) -> usize {
        self.storage.len()
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Frame");
        out.field("kind", &self.kind);
        out.field("headers", &HeaderList(self));
        if let Some(body) = self.follows_body() {
            out.field("follows_body", &Value::new(body));
        }
        out.finish_non_exhaustive()
    }
}

/// Debug helper listing a frame's headers as `key: value` pairs.
struct HeaderList<'a>(&'a Frame);

impl fmt::Debug for HeaderList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.headers()).finish()
    }
}

/// One channel variable from an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChanVariable<'a> {
    /// Which of the event's channels, in Asterisk 12+'s prefixed form:
    /// `dest` for `DestChanVariable` (lowercase, as keys are); `None` for
    /// the plain form.
    pub prefix: Option<&'a str>,
    /// The channel named in `ChanVariable(<channel>)`, or `None` for the
    /// plain `ChanVariable:` form.
    pub channel: Option<&'a str>,
    /// The variable name, before the first `=`.
    pub name: Value<'a>,
    /// The value after the first `=` (empty when there is no `=`).
    pub value: Value<'a>,
}
