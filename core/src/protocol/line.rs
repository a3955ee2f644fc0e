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

/// The first sixteen bytes of a key, lowercased up to its first `(`, as two
/// little-endian words ready to store over the key's copy (bytes past the key
/// are the original bytes).
pub(crate) type LoweredKey = [u64; 2];

/// What a scan of a line's key found.
enum KeyScan {
    /// A valid key ends at this colon; its lowered words when the key fit in
    /// the first sixteen bytes and those were in the buffer.
    Colon(usize, Option<LoweredKey>),
    /// A byte no key may hold.
    Invalid,
    /// The buffer ended inside a valid-looking key.
    NeedMore,
}

/// Lanes of two words as one 128-bit mask, first word in the low half.
fn pair(low: u64, high: u64) -> u128 {
    u128::from(low) | (u128::from(high) << 64)
}

/// Validates the key at the start of `line`. The common key (under sixteen
/// bytes) is decided from two words without a data-dependent branch, and its
/// lowercased form is computed from the same registers; longer keys go a word
/// at a time, then byte by byte. Read-only: a store here would stall the
/// loads that search the value next.
fn scan_key(line: &[u8]) -> KeyScan {
    if line.first() == Some(&b' ') {
        return KeyScan::Invalid;
    }
    let mut at = 0;
    if swar::has_word(line.len(), swar::WORD) {
        let (low, high) = (swar::load(line, 0), swar::load(line, swar::WORD));
        // Only the first stop lane is read, so the first-lane tests suffice
        // (a lane after the first stop may be flagged wrongly; never before).
        let colon = pair(
            swar::first_lane_equal(low, b':'),
            swar::first_lane_equal(high, b':'),
        );
        let stop = colon | pair(swar::lanes_control(low), swar::lanes_control(high));
        if stop != 0 {
            let bit = stop.trailing_zeros();
            let index = (bit / 8) as usize;
            if (colon >> bit) & 1 == 0 || index == 0 {
                return KeyScan::Invalid;
            }
            let paren = pair(
                swar::first_lane_equal(low, b'('),
                swar::first_lane_equal(high, b'('),
            );
            let limit = index.min((paren.trailing_zeros() / 8) as usize);
            let lowered = [
                swar::lowercase_below(low, limit.min(swar::WORD)),
                swar::lowercase_below(high, limit.saturating_sub(swar::WORD)),
            ];
            return KeyScan::Colon(index, Some(lowered));
        }
        at = 2 * swar::WORD;
    }
    while swar::has_word(line.len(), at) {
        let word = swar::load(line, at);
        let colon = swar::lanes_equal(word, b':');
        let stop = swar::lanes_control(word) | colon;
        if stop != 0 {
            // Decide from the masks, not from a reload of the byte.
            let first_stop = stop & stop.wrapping_neg();
            let index = at + swar::first_lane(stop);
            return if colon & first_stop != 0 && index > 0 {
                KeyScan::Colon(index, None)
            } else {
                KeyScan::Invalid
            };
        }
        at += swar::WORD;
    }
    for (index, &byte) in line.iter().enumerate().skip(at) {
        if matches!(byte, b':' | 0..=0x1f | 0x7f) {
            return key_end(line, index);
        }
    }
    KeyScan::NeedMore
}

/// The verdict on the byte that stopped a key scan.
fn key_end(line: &[u8], index: usize) -> KeyScan {
    if index > 0 && line[index] == b':' {
        KeyScan::Colon(index, None)
    } else {
        KeyScan::Invalid
    }
}

/// Where a header line's key ends and its value starts, relative to the
/// line, with the key's lowered words when the scan computed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderAt {
    pub(crate) key_end: usize,
    pub(crate) value_start: usize,
    pub(crate) lowered: Option<LoweredKey>,
}

/// Where a scan of header lines stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderScan {
    /// The blank line that ends the frame starts here.
    Blank(usize),
    /// No complete line after this offset yet.
    Incomplete(usize),
}

/// Parses complete header lines of `window` from `from` on, calling
/// `on_line(line_start, line_end, Some(header))` for each header and with
/// `None` for a malformed line, until the blank line.
///
/// Each line costs one pass over its key and one search of its value, both
/// a word at a time.
pub(crate) fn scan_headers(
    window: &[u8],
    from: usize,
    mut on_line: impl FnMut(usize, usize, Option<HeaderAt>),
) -> HeaderScan {
    let mut line_start = from;
    loop {
        let rest = &window[line_start..];
        if rest.starts_with(b"\r\n") {
            return HeaderScan::Blank(line_start);
        }
        let (header, search_from) = match scan_key(&window[line_start..]) {
            KeyScan::NeedMore => return HeaderScan::Incomplete(line_start),
            KeyScan::Colon(colon, lowered) => {
                let value_start = if window.get(line_start + colon + 1) == Some(&b' ') {
                    colon + 2
                } else {
                    colon + 1
                };
                let header = HeaderAt {
                    key_end: colon,
                    value_start,
                    lowered,
                };
                (Some(header), line_start + value_start)
            }
            KeyScan::Invalid => (None, line_start),
        };
        let Some(line_end) = find_crlf(window, search_from) else {
            return HeaderScan::Incomplete(line_start);
        };
        on_line(line_start, line_end, header);
        line_start = line_end + 2;
    }
}
