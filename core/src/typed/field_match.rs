//! Which header names which field of the type a frame is read as, worked
//! out once per read in one pass over the headers.
//!
//! A key names a field when they are equal ignoring ASCII case and
//! underscores, the key read up to its `(` suffix ([`names_bytes`]). Each
//! key is first compared with the field after the one the previous key
//! named: types declare fields in about the order servers write headers,
//! so that first probe is usually the match. Otherwise only the fields
//! whose name starts with the key's first byte are compared
//! ([`Candidates`]), so a header the type does not declare costs about a
//! table read. Without the table every read of a field would scan every
//! header.

use std::cell::OnceCell;

use crate::protocol::{Frame, Value};

/// Whether a frame key names `field`, ignoring ASCII case and underscores
/// on both sides; the key ends at its first `(` (`ChanVariable(PJSIP/1)`
/// names `chan_variable`).
pub(super) fn names_bytes(key: &[u8], field: &str) -> bool {
    let field = field.as_bytes();
    let (mut in_key, mut in_field) = (0, 0);
    loop {
        while key.get(in_key) == Some(&b'_') {
            in_key += 1;
        }
        while field.get(in_field) == Some(&b'_') {
            in_field += 1;
        }
        // The key ends at its `(` suffix.
        let next = key.get(in_key).filter(|&&byte| byte != b'(');
        match (next, field.get(in_field)) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {
                in_key += 1;
                in_field += 1;
            }
            _ => return false,
        }
    }
}

/// Whether `key` (as frames hold keys: lowercase up to a `(`) is `field`
/// but for the field's ASCII case: the cheap check of the field a key is
/// expected to name. It never says yes wrongly; it says no for a key with
/// capitals or underscores that does name the field, which the full
/// search ([`Candidates`]) then finds.
fn lowercase_key_is(key: &[u8], field: &[u8]) -> bool {
    if key.len() != field.len() {
        return false;
    }
    if key.len() < 8 {
        return key
            .iter()
            .zip(field)
            .all(|(&key, &field)| field != b'(' && field.to_ascii_lowercase() == key);
    }
    let same = |key: &[u8; 8], field: &[u8; 8]| {
        let field = u64::from_le_bytes(*field);
        u64::from_le_bytes(*key) == fold_lanes(field) && !has_paren(field)
    };
    // Whole words, then the last eight bytes when the length is not a
    // multiple of eight (overlapping the last whole word).
    let (keys, _) = key.as_chunks::<8>();
    let (fields, _) = field.as_chunks::<8>();
    keys.iter().zip(fields).all(|(key, field)| same(key, field))
        && (key.len().is_multiple_of(8)
            || matches!(
                (key.last_chunk::<8>(), field.last_chunk::<8>()),
                (Some(key), Some(field)) if same(key, field)
            ))
}

/// A byte in each lane of a `u64`.
const LANES: u64 = 0x0101_0101_0101_0101;

/// Each ASCII capital in `word`'s lanes made small; other bytes kept.
const fn fold_lanes(word: u64) -> u64 {
    let low_bits = word & (0x7f * LANES);
    // A lane's top bit is set once its low bits reach `A`, and once they
    // pass `Z`; neither sum carries into the next lane.
    let from_a = low_bits + (0x80 - 0x41) * LANES;
    let past_z = low_bits + (0x80 - 0x5b) * LANES;
    let capital = from_a & !past_z & !word & (0x80 * LANES);
    word | (capital >> 2)
}

/// Whether a lane of `word` holds a `(`.
const fn has_paren(word: u64) -> bool {
    let zeroed = word ^ (0x28 * LANES);
    zeroed.wrapping_sub(LANES) & !zeroed & (0x80 * LANES) != 0
}

/// The first byte of a name as [`names_bytes`] compares it (underscores
/// skipped, ASCII case folded); `None` for a name that is empty so, or
/// that starts with its `(` suffix.
fn first_significant(name: &[u8]) -> Option<u8> {
    name.iter()
        .find(|&&byte| byte != b'_')
        .filter(|&&byte| byte != b'(')
        .map(u8::to_ascii_lowercase)
}

/// The type's fields grouped by the first byte of their name as
/// [`names_bytes`] compares it (folded into 32 buckets; a collision only
/// costs a comparison): a key is compared only with the fields that can
/// name it, so a header the type does not declare costs one table read.
pub(super) struct Candidates {
    /// Per bucket, a bit per field (fewer than [`MATCHED`]: 64).
    by_first: [u64; 32],
    /// Fields whose name normalises to nothing (or to a `(` suffix).
    without_first: u64,
}

impl Candidates {
    /// The table of `fields` (the first [`MATCHED`] of them).
    #[cfg(test)]
    pub(super) fn new(fields: &[&str]) -> Self {
        let mut candidates = Self::empty();
        candidates.fill(fields);
        candidates
    }

    const fn empty() -> Self {
        Self {
            by_first: [0; 32],
            without_first: 0,
        }
    }

    fn fill(&mut self, fields: &[&str]) {
        for (position, field) in fields.iter().enumerate().take(MATCHED) {
            let bit = 1 << position;
            match first_significant(field.as_bytes()) {
                Some(first) => self.by_first[usize::from(first & 31)] |= bit,
                None => self.without_first |= bit,
            }
        }
    }

    /// The first of `fields` (fewer than [`MATCHED`]), from `start` round
    /// to just before it, that `key` names.
    pub(super) fn find(&self, fields: &[&str], key: &[u8], start: usize) -> Option<usize> {
        let all = match first_significant(key) {
            Some(first) => self.by_first[usize::from(first & 31)],
            None => self.without_first,
        };
        let from_start = u64::MAX
            .checked_shl(u32::try_from(start).ok()?)
            .unwrap_or(0);
        for mut bits in [all & from_start, all & !from_start] {
            while bits != 0 {
                let position = bits.trailing_zeros() as usize;
                if names_bytes(key, fields[position]) {
                    return Some(position);
                }
                bits &= bits - 1;
            }
        }
        None
    }
}

/// Most headers and fields the tables hold; a frame or type with more is
/// matched header by header on each read of a field.
const MATCHED: usize = 64;

/// Which headers each field of a type names, in one frame.
pub(super) struct Matches<'de> {
    frame: &'de Frame,
    /// Per header (up to [`MATCHED`]): 1 + the field it names, 0 for none.
    field_of: [u8; MATCHED],
    /// Per field: 1 + its first header, 0 for none.
    first_of: [u8; MATCHED],
    /// Whether the tables hold the answers (frame and type small enough).
    complete: bool,
    /// The frame's text, validated as UTF-8 once, when a value is first
    /// read as text: each value's text is then a slice of it, where
    /// validating value by value costs several times more (`None` when
    /// some byte is not UTF-8: then values are validated one by one).
    text: OnceCell<Option<&'de str>>,
}

impl<'de> Matches<'de> {
    pub(super) fn new(frame: &'de Frame, fields: &[&str]) -> Self {
        let mut matches = Self {
            frame,
            field_of: [0; MATCHED],
            first_of: [0; MATCHED],
            complete: frame.len() < MATCHED && fields.len() < MATCHED,
            text: OnceCell::new(),
        };
        if !matches.complete {
            return matches;
        }
        // Filled at the first key the expected field does not match (in
        // place: moving it into an `Option` copied its 264 bytes).
        let mut candidates = Candidates::empty();
        let mut filled = false;
        let mut next = 0;
        for (index, span) in frame.spans().enumerate() {
            let key = frame.key_bytes(span);
            let found = match fields.get(next) {
                Some(field) if lowercase_key_is(key, field.as_bytes()) => Some(next),
                _ => {
                    if !filled {
                        candidates.fill(fields);
                        filled = true;
                    }
                    candidates.find(fields, key, next)
                }
            };
            if let Some(found) = found {
                next = found + 1;
                // Both below `MATCHED` (64): they fit in a byte.
                matches.field_of[index] = u8::try_from(found + 1).unwrap_or(0);
                if matches.first_of[found] == 0 {
                    matches.first_of[found] = u8::try_from(index + 1).unwrap_or(0);
                }
            }
        }
        matches
    }

    /// The first header that field `field` (at `position` among the
    /// type's fields) names, if any.
    #[inline]
    pub(super) fn first(&self, field: &str, position: usize) -> Option<usize> {
        if self.complete {
            return usize::from(self.first_of[position]).checked_sub(1);
        }
        self.frame
            .spans()
            .position(|span| names_bytes(self.frame.key_bytes(span), field))
    }

    /// Every header that field `field` (at `position`) names, in wire
    /// order.
    pub(super) fn all(
        &self,
        field: &'static str,
        position: usize,
    ) -> impl Iterator<Item = usize> + use<'_, 'de> {
        self.frame
            .spans()
            .enumerate()
            .filter(move |&(index, span)| {
                if self.complete {
                    usize::from(self.field_of[index]) == position + 1
                } else {
                    names_bytes(self.frame.key_bytes(span), field)
                }
            })
            .map(|(index, _)| index)
    }

    /// Header `index`'s value, with its text when the frame is UTF-8.
    #[inline]
    pub(super) fn value(&self, index: usize) -> (Value<'de>, Option<&'de str>) {
        let text = self.text.get_or_init(|| frame_text(self.frame));
        value_at(self.frame, *text, index)
    }
}

/// The frame's text (all its keys and values), when it is all UTF-8.
/// Validated sixteen or thirty-two bytes at a time (`simdutf8`): a
/// typed read validates its whole frame once, and byte by byte that cost
/// about a tenth of the read.
pub(super) fn frame_text(frame: &Frame) -> Option<&str> {
    simdutf8::basic::from_utf8(frame.text_bytes()).ok()
}

/// Header `index`'s value, with its text sliced from `text` (the frame's
/// text, when it is all UTF-8).
#[inline]
pub(super) fn value_at<'de>(
    frame: &'de Frame,
    text: Option<&'de str>,
    index: usize,
) -> (Value<'de>, Option<&'de str>) {
    let span = frame.span(index);
    match text.and_then(|text| text.get(span.value_start as usize..span.value_end as usize)) {
        Some(text) => (Value::new(text.as_bytes()), Some(text)),
        None => (frame.value_of(span), None),
    }
}

#[cfg(test)]
#[path = "field_match_tests.rs"]
mod tests;
