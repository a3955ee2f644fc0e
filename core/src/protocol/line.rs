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
/// first words are searched in-register, a CR-LF pair found from the masks
/// (a CR in a word's last lane carries into the next word); longer values go
/// to `memchr`.
pub(crate) fn find_crlf(haystack: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    let mut carried_cr = 0;
    for _ in 0..SHORT_WORDS {
        if !swar::has_word(haystack.len(), at) {
            break;
        }
        let word = swar::load(haystack, at);
        let cr = swar::lanes_equal(word, b'\r');
        let crlf = swar::lanes_equal(word, b'\n') & ((cr << 8) | carried_cr);
        if crlf != 0 {
            return Some(at + swar::first_lane(crlf) - 1);
        }
        carried_cr = cr >> 56;
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
/// The key is everything before the first colon: one or more printable ASCII
/// bytes, not starting with a space (keys may hold `-()/@;` and spaces). One
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
        if !(b' '..=b'~').contains(&byte) {
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

/// What a scan of a line's key found.
enum KeyScan {
    /// A valid key ends at this colon.
    Colon(usize),
    /// A byte no key may hold.
    Invalid,
    /// The buffer ended inside a valid-looking key.
    NeedMore,
}

/// Validates the key at the start of `line`, a word at a time, then byte by
/// byte for the last few bytes. Read-only: keys are lowercased when the frame
/// is assembled, so no store here can stall the loads that search the value.
fn scan_key(line: &[u8]) -> KeyScan {
    if line.first() == Some(&b' ') {
        return KeyScan::Invalid;
    }
    let mut at = 0;
    while swar::has_word(line.len(), at) {
        let word = swar::load(line, at);
        let colon = swar::lanes_equal(word, b':');
        let stop = swar::lanes_unprintable(word) | colon;
        if stop != 0 {
            // Decide from the masks, not from a reload of the byte.
            let first_stop = stop & stop.wrapping_neg();
            let index = at + swar::first_lane(stop);
            return if colon & first_stop != 0 && index > 0 {
                KeyScan::Colon(index)
            } else {
                KeyScan::Invalid
            };
        }
        at += swar::WORD;
    }
    for (index, &byte) in line.iter().enumerate().skip(at) {
        if matches!(byte, b':' | 0..=0x1f | 0x7f..=0xff) {
            return key_end(line, index);
        }
    }
    KeyScan::NeedMore
}

/// The verdict on the byte that stopped a key scan.
fn key_end(line: &[u8], index: usize) -> KeyScan {
    if index > 0 && line[index] == b':' {
        KeyScan::Colon(index)
    } else {
        KeyScan::Invalid
    }
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
/// `on_line(line_start, line_end, Some((key_end, value_start)))` for each
/// header and with `None` for a malformed line, until the blank line.
///
/// Each line costs one pass over its key and one search of its value, both
/// a word at a time.
pub(crate) fn scan_headers(
    window: &[u8],
    from: usize,
    mut on_line: impl FnMut(usize, usize, Option<(usize, usize)>),
) -> HeaderScan {
    let mut line_start = from;
    loop {
        let rest = &window[line_start..];
        if rest.starts_with(b"\r\n") {
            return HeaderScan::Blank(line_start);
        }
        let (header, search_from) = match scan_key(&window[line_start..]) {
            KeyScan::NeedMore => return HeaderScan::Incomplete(line_start),
            KeyScan::Colon(colon) => {
                let value_start = if window.get(line_start + colon + 1) == Some(&b' ') {
                    colon + 2
                } else {
                    colon + 1
                };
                (Some((colon, value_start)), line_start + value_start)
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
