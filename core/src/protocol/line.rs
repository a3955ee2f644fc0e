//! Line-level helpers shared by the parser: where a line ends and where its
//! key and value are.

use memchr::memchr;

use super::swar;

/// Words searched a lane at a time before handing a long value to `memchr`.
const SHORT_WORDS: usize = 3;

/// Index of the `\r` of the first `\r\n` at or after `from`.
///
/// A bare `\n` is part of the line (a value may carry one: `Message: …\n`),
/// and a lone `\r` does not end a line either. Most values are short, so the
/// first words are searched in-register for the first `\n`; longer values,
/// and the rest after a bare LF, go to `memchr`.
pub(crate) fn find_crlf(haystack: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    for _ in 0..SHORT_WORDS {
        if !swar::has_word(haystack.len(), at) {
            break;
        }
        let newline = swar::first_lane_equal(swar::load(haystack, at), b'\n');
        if newline != 0 {
            // The scan never writes the buffer, so the byte before is a
            // cheap load; a bare LF (rare) sends the search on below.
            let found = at + swar::first_lane(newline);
            if found > from && haystack[found - 1] == b'\r' {
                return Some(found - 1);
            }
            at = found + 1;
            break;
        }
        at += swar::WORD;
    }
    while let Some(found) = memchr(b'\n', &haystack[at..]) {
        let newline = at + found;
        if newline > from && haystack[newline - 1] == b'\r' {
            return Some(newline - 1);
        }
        at = newline + 1;
    }
    None
}

/// Splits a header line into `(key_end, value_start)`, or `None` when the
/// line is not a header.
///
/// The key is everything before the first colon: one or more bytes that are
/// not control bytes, not starting with a space (keys may hold `-()/@;`,
/// spaces, and bytes from `0x80` up, which a `UserEvent` relays). One
/// space after the colon is the separator and is skipped; any further leading
/// spaces belong to the value, so `Output:` lines keep their indentation and
/// `Key:value` (no space) reads the same as `Key: value`.
pub(crate) fn split_header(line: &[u8]) -> Option<(usize, usize)> {
    // One pass over the key only: find the colon and validate on the way.
    let mut colon = None;
    for (at, &byte) in line.iter().enumerate() {
        if byte == b':' {
            colon = Some(at);
            break;
        }
        if byte < b' ' || byte == 0x7f {
            return None;
        }
    }
    let colon = colon?;
    if colon == 0 || line[0] == b' ' {
        return None;
    }
    let value_start = if line.get(colon + 1) == Some(&b' ') {
        colon + 2
    } else {
        colon + 1
    };
    Some((colon, value_start))
}

/// Where a header line's key ends and its value starts, relative to the
/// line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderAt {
    pub(crate) key_end: usize,
    pub(crate) value_start: usize,
}

/// `actionid` as a little-endian word.
const ACTION_ID_WORD: u64 = u64::from_le_bytes(*b"actionid");
/// The ASCII case bit in every lane.
const CASE_BITS: u64 = 0x2020_2020_2020_2020;

impl HeaderAt {
    /// Whether this header's key (at the start of `line`) is `ActionID`, in
    /// any case. One word compare: every byte of `actionid` is a lowercase
    /// letter, and only that letter and its capital map to it under `| 0x20`.
    #[inline]
    pub(crate) fn is_action_id(&self, line: &[u8]) -> bool {
        self.key_end == size_of::<u64>() && swar::load(line, 0) | CASE_BITS == ACTION_ID_WORD
    }
}
