//! The catalogue's own reader: how [`Event::from_frame`] reads a frame
//! into a catalogue type without serde's per-read field matching.
//!
//! The general reader ([`Frame::parse`]) learns a type's field names at
//! each read and compares every header with them ignoring case and
//! underscores. A catalogue type's names are known when it is compiled, so
//! the `event!` macro stores each already as a frame key reads when it
//! names the field ([`Key`]: lowercase, no underscores), and a header is
//! matched with one compare of a few words. Each value is then read as the
//! general reader reads it: text sliced from the frame's validated text,
//! numbers trimmed and parsed by the same code, the rest through the
//! general reader's own value deserializer ([`FieldValue`]).
//!
//! The reader never decides what it cannot decide exactly as the general
//! reader would: a key with an underscore or a `(` suffix that names no
//! field exactly, a missing header or a value that does not fit all give
//! [`Undecided`], and the caller then reads the
//! frame with [`Frame::parse`] (which also words the error). A test reads
//! every kind of frame both ways and compares.
//!
//! [`Event::from_frame`]: super::events::Event::from_frame
//! [`Frame::parse`]: crate::protocol::Frame::parse

use std::borrow::Cow;

use serde::de::{self, Deserialize, Visitor};
use serde::forward_to_deserialize_any;

use super::de::{ParseError, ValueDeserializer};
use super::field_match::frame_text;
use super::{ChannelState, HangupCause};
use crate::protocol::{Frame, Value};

/// Per key length up to eight, the mask that keeps that many bytes of a
/// little-endian word.
const HEAD_MASKS: [u64; 9] = {
    let mut masks = [u64::MAX; 9];
    let mut len = 0;
    while len < 8 {
        masks[len] = (1 << (8 * len)) - 1;
        len += 1;
    }
    masks
};

/// A byte in each lane of a `u64`.
const LANES: u64 = 0x0101_0101_0101_0101;
/// Longest field name a [`Key`] holds.
const KEY_MAX: usize = 32;
/// Most fields a catalogue type has for this reader.
const FIELDS_MAX: usize = 64;

/// A field's name as a frame's key reads when it names the field: ASCII
/// lowercase, underscores left out (`CallerIDNum` and `caller_id_num`
/// are both `calleridnum`). Held as its length and its first and last
/// eight bytes ([`Words`]), which compare in one branch, and all its bytes
/// for a name longer than sixteen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    words: Words,
    bytes: [u8; KEY_MAX],
}

/// A key's length, its first eight bytes and its last eight (zeros past
/// the end of a shorter key): all of a key of up to sixteen bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Words {
    len: usize,
    head: u64,
    tail: u64,
}

impl Words {
    /// The key's first slot in a [`Fields`] table, from all its words.
    #[inline]
    const fn slot(self) -> usize {
        let mixed = (self.head ^ self.tail.rotate_left(29) ^ self.len as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // The top bits of the product, which every input bit reaches.
        (mixed >> (64 - SLOT_BITS)) as usize
    }

    const fn of(key: &[u8]) -> Self {
        let mut head = [0; 8];
        let mut tail = [0; 8];
        let mut at = 0;
        while at < key.len() && at < 8 {
            head[at] = key[at];
            at += 1;
        }
        if key.len() >= 8 {
            let mut at = 0;
            while at < 8 {
                tail[at] = key[key.len() - 8 + at];
                at += 1;
            }
        }
        Self {
            len: key.len(),
            head: u64::from_le_bytes(head),
            tail: u64::from_le_bytes(tail),
        }
    }

    /// The same as [`Words::of`] from whole-word loads: `head` is the
    /// eight bytes from the key's start and `tail` the eight that end at
    /// its end, whatever else they cover. No branch on the length, which
    /// varies from header to header; the mask comes from a table (a
    /// checked shift cost six percent more instructions a read).
    #[inline]
    fn read(len: usize, head: [u8; 8], tail: [u8; 8]) -> Self {
        Self {
            len,
            // `len` bytes of the head kept when it is short; all when not.
            head: u64::from_le_bytes(head) & HEAD_MASKS[len.min(8)],
            tail: if len < 8 { 0 } else { u64::from_le_bytes(tail) },
        }
    }

    /// Whether two keys' words are the same, in one branch.
    #[inline]
    const fn same(self, other: Self) -> bool {
        ((self.len ^ other.len) as u64 | (self.head ^ other.head) | (self.tail ^ other.tail)) == 0
    }

    /// Whether the key has an underscore or a `(`: then it may name a
    /// field once they are left out, which only the general reader decides.
    #[inline]
    fn has_underscore_or_paren(self, key: &[u8]) -> bool {
        const fn has(word: u64, byte: u8) -> bool {
            let zeroed = word ^ (byte as u64 * LANES);
            zeroed.wrapping_sub(LANES) & !zeroed & (0x80 * LANES) != 0
        }
        if self.len > 16 {
            return key.iter().any(|&byte| byte == b'_' || byte == b'(');
        }
        // Within sixteen bytes the two words hold every byte of the key,
        // and zeros (neither byte) past it.
        has(self.head, b'_') || has(self.head, b'(') || has(self.tail, b'_') || has(self.tail, b'(')
    }
}

impl Key {
    /// The key of a field named `name` (a serde name, or a Rust field name
    /// with or without its `r#`). Evaluated when the crate is compiled: a
    /// name too long, or with a `(`, fails the build.
    pub(crate) const fn of(name: &str) -> Self {
        let name = name.as_bytes();
        let mut at = if name.len() > 2 && name[0] == b'r' && name[1] == b'#' {
            2
        } else {
            0
        };
        let mut bytes = [0; KEY_MAX];
        let mut len = 0;
        while at < name.len() {
            let byte = name[at];
            assert!(byte != b'(', "a catalogue field name has no ( suffix");
            if byte != b'_' {
                assert!(len < KEY_MAX, "a catalogue field name is too long");
                bytes[len] = byte.to_ascii_lowercase();
                len += 1;
            }
            at += 1;
        }
        let (key, _) = bytes.split_at(len);
        Self {
            words: Words::of(key),
            bytes,
        }
    }

    /// Whether a frame's key (lowercase up to any `(`), whose [`Words`]
    /// are `words`, is this one.
    #[inline]
    fn is(&self, key: &[u8], words: Words) -> bool {
        self.words.same(words) && (words.len <= 16 || self.middle_is(key))
    }

    /// The rest of [`Key::is`] for a key longer than sixteen bytes (few
    /// are): out of line, so the common path keeps its registers.
    #[cold]
    #[inline(never)]
    fn middle_is(&self, key: &[u8]) -> bool {
        self.bytes.get(..key.len()) == Some(key)
    }
}

/// Bits of a [`Words::slot`].
const SLOT_BITS: u32 = 7;
/// Slots in a [`Fields`] table: twice the most fields, so a search for a
/// key no field has ends at an empty slot after a probe or two.
const SLOTS: usize = 1 << SLOT_BITS;

/// A catalogue type's field keys, in declared order, and a hash table of
/// them: a header the type does not declare costs a probe or two, not a
/// comparison with every field.
pub(crate) struct Fields {
    keys: &'static [Key],
    /// Per slot, 1 + the field whose key is there; 0 for an empty slot.
    /// Open addressing: a key is at its [`Words::slot`] or after it.
    slots: [u8; SLOTS],
}

impl Fields {
    /// The fields with these keys. Evaluated when the crate is compiled:
    /// more than [`FIELDS_MAX`] fields, or two with the same key, fail
    /// the build (a key then names one field, as in the general reader).
    pub(crate) const fn new(keys: &'static [Key]) -> Self {
        assert!(
            keys.len() <= FIELDS_MAX,
            "too many fields for the catalogue reader"
        );
        let mut slots = [0; SLOTS];
        let mut field = 0;
        while field < keys.len() {
            let words = keys[field].words;
            let mut at = words.slot();
            while slots[at] != 0 {
                assert!(
                    !keys[slots[at] as usize - 1].words.same(words),
                    "two fields with one key"
                );
                at = (at + 1) % SLOTS;
            }
            // Below `FIELDS_MAX` (64), checked above: it fits.
            #[allow(clippy::cast_possible_truncation)]
            let place = field as u8 + 1;
            slots[at] = place;
            field += 1;
        }
        Self { keys, slots }
    }

    /// The field whose key is `key` (with words `words`), if any.
    #[inline]
    fn find(&self, key: &[u8], words: Words) -> Option<usize> {
        let mut at = words.slot();
        loop {
            let field = usize::from(*self.slots.get(at)?).checked_sub(1)?;
            if self.keys.get(field)?.is(key, words) {
                return Some(field);
            }
            at = (at + 1) % SLOTS;
        }
    }
}

/// A frame being read into one catalogue type, field by field in the
/// type's declared order.
pub(crate) struct CatalogueReader<'a> {
    frame: &'a Frame,
    /// Per field: where its first header's value starts and ends in the
    /// frame's text; a start of 0 for none (no value starts there: a
    /// header's key and colon come first).
    values: [(u32, u32); FIELDS_MAX],
    /// The next field to read.
    next: usize,
    /// The frame's text when it is all UTF-8.
    text: Option<&'a str>,
}

impl<'a> CatalogueReader<'a> {
    /// A reader of `frame`, which [`CatalogueReader::match_fields`] then
    /// fills. Built where it is used and filled there: a reader is half a
    /// kilobyte, and returning one filled copied it.
    pub(crate) fn new(frame: &'a Frame) -> Self {
        Self {
            frame,
            values: [(0, 0); FIELDS_MAX],
            next: 0,
            text: None,
        }
    }

    /// Matches the frame's headers with `fields`; [`Undecided`] when the
    /// general reader must decide.
    pub(crate) fn match_fields(&mut self, fields: &Fields) -> Result<(), Undecided> {
        let keys = fields.keys;
        let frame = self.frame;
        let values = &mut self.values;
        // Types declare fields in about the order servers write headers,
        // so the field after the last one matched is tried first.
        let mut expected = 0;
        for span in frame.spans() {
            let key = frame.key_bytes(span);
            let (head, tail) = frame.key_words(span);
            let words = Words::read(key.len(), head, tail);
            let field = if keys.get(expected).is_some_and(|field| field.is(key, words)) {
                expected
            } else if let Some(field) = fields.find(key, words) {
                field
            } else if words.has_underscore_or_paren(key) {
                // It may name a field once its underscores or suffix are
                // left out.
                return Err(Undecided);
            } else {
                continue;
            };
            expected = field + 1;
            if let Some(slot) = values.get_mut(field)
                && slot.0 == 0
            {
                *slot = (span.value_start, span.value_end);
            }
        }
        self.text = frame_text(frame);
        Ok(())
    }

    /// The next field's value; [`Undecided`] when it does not fit, or is
    /// missing and not optional.
    #[inline]
    pub(crate) fn field<T: FieldValue<'a>>(&mut self) -> Result<T, Undecided> {
        match self.next_value() {
            Some((value, text)) => T::present(value, text),
            None => T::absent(),
        }
        .ok_or(Undecided)
    }

    /// The next field's value read as [`lossy`](super::lossy) reads it.
    pub(crate) fn lossy_field(&mut self) -> Result<Option<Cow<'a, str>>, Undecided> {
        match self.next_value() {
            None => Ok(None),
            Some((value, _)) if value.is_empty() => Ok(None),
            Some((_, Some(text))) => Ok(Some(Cow::Borrowed(text))),
            Some((value, None)) => super::lossy(through_serde(value, None)).map_err(|_| Undecided),
        }
    }

    /// The next field's first value, with its text when the frame is
    /// UTF-8.
    #[inline]
    fn next_value(&mut self) -> Option<(Value<'a>, Option<&'a str>)> {
        let (start, end) = self.values.get(self.next).copied().unwrap_or_default();
        self.next += 1;
        if start == 0 {
            return None;
        }
        let (start, end) = (start as usize, end as usize);
        match self.text.and_then(|text| text.get(start..end)) {
            Some(text) => Some((Value::new(text.as_bytes()), Some(text))),
            // A value lies within the frame's text.
            None => Some((Value::new(&self.frame.text_bytes()[start..end]), None)),
        }
    }
}

/// A frame the catalogue reader leaves to the general reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Undecided;

/// A value for serde's reading, as the general reader reads it.
fn through_serde<'a>(value: Value<'a>, text: Option<&'a str>) -> ValueDeserializer<'a> {
    // The header's name only words errors, and an error sends the frame
    // to the general reader, which words its own.
    ValueDeserializer::new(value, text, "")
}

/// A type a catalogue field has, read as the general reader reads it:
/// text and numbers directly (by the same rules: an empty value is `None`
/// for an `Option`, a number's text is trimmed), everything else through
/// the general reader's own value deserializer.
pub(crate) trait FieldValue<'a>: Sized {
    /// From a header's value (and its text, when its frame is UTF-8).
    // `text` is the frame's text whatever `Self` is, even `Option<&str>`.
    #[allow(clippy::use_self)]
    fn present(value: Value<'a>, text: Option<&'a str>) -> Option<Self>;
    /// For a field no header names.
    fn absent() -> Option<Self>;
}

impl<'a> FieldValue<'a> for &'a str {
    #[inline]
    fn present(value: Value<'a>, text: Option<&'a str>) -> Option<Self> {
        text.or_else(|| value.to_str().ok())
    }

    fn absent() -> Option<Self> {
        None
    }
}

impl<'a> FieldValue<'a> for Option<&'a str> {
    /// An empty value is `None`, as for any `Option`.
    #[inline]
    #[allow(clippy::use_self)] // as in the trait
    fn present(value: Value<'a>, text: Option<&'a str>) -> Option<Self> {
        if value.is_empty() {
            return Some(None);
        }
        <&str>::present(value, text).map(Some)
    }

    fn absent() -> Option<Self> {
        Some(None)
    }
}

/// A number as the general reader reads one: its text, trimmed, parsed.
#[inline]
fn number<'a, T: std::str::FromStr>(value: Value<'a>, text: Option<&'a str>) -> Option<T> {
    <&str>::present(value, text)?.trim().parse().ok()
}

/// Numeric field types, read as the general reader reads them (a newtype
/// or a state through its number), required and optional.
macro_rules! numbers {
    ($($kind:ty => $number:ty: $make:expr),* $(,)?) => {
        $(
            impl<'a> FieldValue<'a> for $kind {
                #[inline]
                fn present(value: Value<'a>, text: Option<&'a str>) -> Option<Self> {
                    number::<$number>(value, text).map($make)
                }

                fn absent() -> Option<Self> {
                    None
                }
            }

            impl<'a> FieldValue<'a> for Option<$kind> {
                /// An empty value is `None`, as for any `Option`.
                #[inline]
                fn present(value: Value<'a>, text: Option<&'a str>) -> Option<Self> {
                    if value.is_empty() {
                        return Some(None);
                    }
                    <$kind>::present(value, text).map(Some)
                }

                fn absent() -> Option<Self> {
                    Some(None)
                }
            }
        )*
    };
}

numbers! {
    u32 => u32: |number| number,
    u64 => u64: |number| number,
    ChannelState => u32: ChannelState::from_code,
    HangupCause => u16: HangupCause,
}

/// Field types read through serde.
macro_rules! through_serde {
    ($($kind:ty),* $(,)?) => {
        $(
            impl<'a> FieldValue<'a> for $kind {
                fn present(value: Value<'a>, text: Option<&'a str>) -> Option<Self> {
                    Deserialize::deserialize(through_serde(value, text)).ok()
                }

                fn absent() -> Option<Self> {
                    Deserialize::deserialize(Absent).ok()
                }
            }
        )*
    };
}

through_serde! {
    bool, Option<bool>, Option<f64>,
}

/// A field whose header is absent: `None` for an `Option`, an error for
/// anything else.
struct Absent;

impl<'de> de::Deserializer<'de> for Absent {
    type Error = ParseError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, ParseError> {
        Err(de::Error::custom("missing"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        visitor.visit_none()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple map struct
        tuple_struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::{Key, Words};

    /// A key's words as read from a frame: with other bytes around it.
    fn words(key: &[u8]) -> Words {
        let mut line = b"Event: Hangup\r\n".to_vec();
        line.extend_from_slice(key);
        let end = line.len();
        line.extend_from_slice(b": value\r\n");
        let head = line[end - key.len()..]
            .first_chunk()
            .copied()
            .unwrap_or_default();
        let tail = line[..end].last_chunk().copied().unwrap_or_default();
        let read = Words::read(key.len(), head, tail);
        assert_eq!(read, Words::of(key), "{}", key.escape_ascii());
        read
    }

    #[test]
    fn underscores_and_parens_are_seen_anywhere_in_a_key() {
        for key in [
            &b"_"[..],
            b"chan(",
            b"caller_idnum",
            b"callerid_num",
            b"abcdefghijklmno_",
            b"abcdefghijklmnopq_",
            b"chanvariable(pjsip/1)",
        ] {
            assert!(
                words(key).has_underscore_or_paren(key),
                "{}",
                key.escape_ascii()
            );
        }
        for key in [
            &b"channel"[..],
            b"channelstatedesc",
            b"destconnectedlinename",
            b"cause-txt",
        ] {
            assert!(
                !words(key).has_underscore_or_paren(key),
                "{}",
                key.escape_ascii()
            );
        }
    }

    #[test]
    fn keys_are_names_lowercased_without_underscores_or_raw_prefix() {
        for (name, key) in [
            ("CallerIDNum", &b"calleridnum"[..]),
            ("caller_id_num", b"calleridnum"),
            ("Cause-txt", b"cause-txt"),
            ("r#type", b"type"),
            ("r", b"r"),
            ("_", b""),
        ] {
            let made = Key::of(name);
            assert!(made.is(key, words(key)), "{name}");
            assert!(!made.is(b"x", words(b"x")), "{name}");
        }
        let long = Key::of("DestConnectedLineName");
        let key = b"destconnectedlinename";
        assert!(long.is(key, words(key)));
        // Same length, same first and last eight bytes, not the same key.
        let other = b"destconnectXdlinename";
        assert!(!long.is(other, words(other)));
        for key in [&b"channel_"[..], b"chann", b"channelstatedesc", b""] {
            assert!(!Key::of("Channel").is(key, words(key)));
        }
    }
}
