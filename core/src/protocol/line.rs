//! Line-level helpers shared by the parser: where a line ends and where its
//! key and value are.

use memchr::memchr;

/// Index of the `\r` of the first `\r\n` at or after `from`.
///
/// A bare `\n` is part of the line (a value may carry one: `Message: …\n`),
/// and a lone `\r` does not end a line either.
pub(crate) fn find_crlf(haystack: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
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

/// Validates and lowercases the key at the start of `line` in one pass.
fn scan_key(line: &mut [u8]) -> KeyScan {
    if line.first() == Some(&b' ') {
        return KeyScan::Invalid;
    }
    let mut lowering = true;
    for (at, byte) in line.iter_mut().enumerate() {
        match *byte {
            b':' if at > 0 => return KeyScan::Colon(at),
            b'(' => lowering = false,
            b' '..=b'~' if *byte != b':' => {
                if lowering {
                    byte.make_ascii_lowercase();
                }
            }
            _ => return KeyScan::Invalid,
        }
    }
    KeyScan::NeedMore
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
