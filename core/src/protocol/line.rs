//! Line-level helpers shared by the parser: where a line ends and where its
//! key and value are.

use memchr::memchr;

use super::swar;

/// Words searched a lane at a time before handing a long value to `memchr`.
const SHORT_WORDS: usize = 2;

/// Index of the `\r` of the first `\r\n` at or after `from`.
///
/// A bare `\n` is part of the line (a value may carry one: `Message: …\n`),
/// and a lone `\r` does not end a line either. Most values are short, so the
/// first words are searched in-register; longer ones go to `memchr`.
pub(crate) fn find_crlf(haystack: &[u8], from: usize) -> Option<usize> {
    let line_end =
        |newline: usize| (newline > from && haystack[newline - 1] == b'\r').then(|| newline - 1);
    let mut at = from;
    for _ in 0..SHORT_WORDS {
        if !swar::has_word(haystack.len(), at) {
            break;
        }
        let mut newlines = swar::lanes_equal(swar::load(haystack, at), b'\n');
        while newlines != 0 {
            if let Some(end) = line_end(at + swar::first_lane(newlines)) {
                return Some(end);
            }
            newlines &= newlines - 1;
        }
        at += swar::WORD;
    }
    while let Some(found) = memchr(b'\n', &haystack[at..]) {
        if let Some(end) = line_end(at + found) {
            return Some(end);
        }
        at += found + 1;
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

/// Lowercases a key in place up to its first `(`, so the channel in
/// `ChanVariable(PJSIP/Alice-01)` keeps its case.
pub(crate) fn lowercase_key(key: &mut [u8]) {
    for byte in key.iter_mut().take_while(|byte| **byte != b'(') {
        byte.make_ascii_lowercase();
    }
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

/// Validates and lowercases the key at the start of `line` in one pass,
/// a word at a time, then byte by byte for the last few bytes.
fn scan_key(line: &mut [u8]) -> KeyScan {
    if line.first() == Some(&b' ') {
        return KeyScan::Invalid;
    }
    let mut lowering = true;
    let mut at = 0;
    while swar::has_word(line.len(), at) {
        let word = swar::load(line, at);
        let colon = swar::lanes_equal(word, b':');
        let stop = swar::lanes_unprintable(word) | colon;
        let stop_at = if stop == 0 {
            swar::WORD
        } else {
            swar::first_lane(stop)
        };
        if lowering {
            let paren = swar::lanes_equal(word, b'(');
            let paren_at = if paren == 0 {
                swar::WORD
            } else {
                swar::first_lane(paren)
            };
            swar::store(line, at, swar::lowercase_below(word, stop_at.min(paren_at)));
            lowering = paren_at >= stop_at;
        }
        if stop != 0 {
            // Decide from the masks: re-reading the byte just stored stalls.
            let first_stop = stop & stop.wrapping_neg();
            let index = at + stop_at;
            return if colon & first_stop != 0 && index > 0 {
                KeyScan::Colon(index)
            } else {
                KeyScan::Invalid
            };
        }
        at += swar::WORD;
    }
    for index in at..line.len() {
        let byte = &mut line[index];
        match *byte {
            b':' | 0..=0x1f | 0x7f..=0xff => return key_end(line, index),
            b'(' => lowering = false,
            _ if lowering => byte.make_ascii_lowercase(),
            _ => {}
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
/// header (its key lowercased in place) and with `None` for a malformed line,
/// until the blank line.
///
/// Each line costs one pass over its key and one `memchr` over its value;
/// lowercasing rides along the key pass. Re-scanning an incomplete line later
/// is harmless: lowercasing is idempotent.
pub(crate) fn scan_headers(
    window: &mut [u8],
    from: usize,
    mut on_line: impl FnMut(usize, usize, Option<(usize, usize)>),
) -> HeaderScan {
    let mut line_start = from;
    loop {
        let rest = &window[line_start..];
        if rest.starts_with(b"\r\n") {
            return HeaderScan::Blank(line_start);
        }
        let (header, search_from) = match scan_key(&mut window[line_start..]) {
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
