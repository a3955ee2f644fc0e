//! The in-register helpers checked against their byte-by-byte definitions
//! on generated input (deterministic: quickcheck with a fixed seed).

use quickcheck::{Gen, QuickCheck};

use super::assemble::assemble;
use super::blocks::HeaderMasks;
use super::frame::{FrameKind, SPAN_BYTES, Span};
use super::line::{find_crlf, split_header};
use super::swar;

fn checker() -> QuickCheck {
    QuickCheck::new()
        .rng(Gen::from_size_and_seed(64, 0x5a5a_2026))
        .tests(5_000)
}

/// A word biased towards the bytes the helpers look for.
fn word_from(bytes: [u8; 8], picks: [u8; 8]) -> u64 {
    // Bytes from 0x80 up whose low seven bits look like letters or bounds.
    const SPECIAL: &[u8] = b":(\r\n AZaz\x7f\x80\x1f~\xc1\xda\xff\xa0";
    let mut lanes = bytes;
    for (lane, pick) in lanes.iter_mut().zip(picks) {
        if pick % 2 == 0 {
            *lane = SPECIAL[usize::from(pick / 2) % SPECIAL.len()];
        }
    }
    u64::from_le_bytes(lanes)
}

fn lanes(word: u64) -> [u8; 8] {
    word.to_le_bytes()
}

#[test]
fn first_lane_equal_finds_the_first_match() {
    fn property(bytes: [u8; 8], picks: [u8; 8]) -> bool {
        let word = word_from(bytes, picks);
        let first = lanes(word).iter().position(|&b| b == b':');
        let mask = swar::first_lane_equal(word, b':');
        match first {
            None => mask == 0,
            Some(lane) => mask != 0 && swar::first_lane(mask) == lane,
        }
    }
    checker().quickcheck(property as fn([u8; 8], [u8; 8]) -> bool);
}

#[test]
fn keys_are_lowered_up_to_their_first_paren_and_nothing_else_changes() {
    fn property(raw: Vec<u8>, start: u8, len: u8) -> bool {
        let content = line_bytes(raw);
        let start = usize::from(start) % (content.len() + 1);
        let end = (start + usize::from(len) % 40).min(content.len());
        let span = Span {
            key_start: u32::try_from(start).unwrap(),
            key_end: u32::try_from(end).unwrap(),
            value_start: u32::try_from(end).unwrap(),
            value_end: u32::try_from(end).unwrap(),
        };
        let mut expected = content.clone();
        let paren = content[start..end].iter().position(|&b| b == b'(');
        let lowered = paren.map_or(end, |at| start + at);
        expected[start..lowered].make_ascii_lowercase();
        let frame = assemble(FrameKind::Event, &content, &[span], None, None);
        let key = frame.key_bytes(frame.span(0));
        frame.heap_size() == content.len() + 16
            && key == &expected[start..end]
            && frame.storage_prefix(content.len()) == &expected[..]
    }
    checker().quickcheck(property as fn(Vec<u8>, u8, u8) -> bool);
}

/// The definition of a CRLF search: the first `\r\n` whose `\r` is at or after `from`.
fn crlf_by_bytes(haystack: &[u8], from: usize) -> Option<usize> {
    (from..haystack.len().saturating_sub(1))
        .find(|&at| haystack[at] == b'\r' && haystack[at + 1] == b'\n')
}

/// Lines made of the bytes that matter, so CR, LF and colons are common.
fn line_bytes(raw: Vec<u8>) -> Vec<u8> {
    const ALPHABET: &[u8] = b"\r\n:( AbZz-\x00\x80\x7f@[";
    raw.into_iter()
        .map(|b| {
            if b % 3 == 0 {
                ALPHABET[usize::from(b / 3) % ALPHABET.len()]
            } else {
                b
            }
        })
        .collect()
}

#[test]
fn find_crlf_matches_the_definition() {
    fn property(raw: Vec<u8>, from: u8) -> bool {
        let haystack = line_bytes(raw);
        let from = usize::from(from) % (haystack.len() + 1);
        find_crlf(&haystack, from) == crlf_by_bytes(&haystack, from)
    }
    checker().quickcheck(property as fn(Vec<u8>, u8) -> bool);
}

/// A header block's spans as [`HeaderMasks`] reads them, with its masks
/// built from prefixes `step` bytes apart (as a chunked stream would); the
/// block with its keys lowered as the parser copies it; the lines skipped.
fn masked_lines(stream: &[u8], step: usize) -> Option<(Vec<Span>, Vec<u8>, u64)> {
    let mut masks = HeaderMasks::default();
    let mut shown = 0;
    let end = loop {
        shown = (shown + step).min(stream.len());
        if let Some(end) = masks.find_block_end(&stream[..shown]) {
            break end;
        }
        if shown == stream.len() {
            return None;
        }
    };
    let mut storage = stream[..end].to_vec();
    masks.lower_keys(&mut storage);
    let read = masks.read_headers(&stream[..end], &mut storage);
    let (copy, table) = storage.split_at(end);
    let (table, _) = table.as_chunks::<SPAN_BYTES>();
    let spans = table.iter().map(Span::read_from).collect();
    Some((spans, copy.to_vec(), read.malformed))
}

#[test]
fn scanned_headers_match_the_scalar_split() {
    fn property(lines: Vec<Vec<u8>>, step: u8) -> bool {
        let mut stream = vec![b'k'];
        for raw in lines {
            stream.extend(line_bytes(raw));
            stream.extend_from_slice(b"\r\n");
        }
        stream.extend_from_slice(b"\r\n");
        // By definition: the block runs to the first blank line, and its
        // lines are split at each CRLF in turn; a header's key is lowered
        // up to its first `(`, and nothing else changes.
        let block_end = memchr::memmem::find(&stream, b"\r\n\r\n").map(|at| at + 2);
        let expected = block_end.map(|block_end| {
            let (mut spans, mut skipped) = (Vec::new(), 0);
            let mut lowered = stream[..block_end].to_vec();
            let mut start = 0;
            while start < block_end {
                let end = crlf_by_bytes(&stream, start).expect("the block ends with CRLF");
                if let Some((key_end, value_start)) = split_header(&stream[start..end]) {
                    let key = &mut lowered[start..start + key_end];
                    let paren = key.iter().position(|&b| b == b'(').unwrap_or(key.len());
                    key[..paren].make_ascii_lowercase();
                    spans.push(Span::of_line(
                        start,
                        end,
                        start + key_end,
                        start + value_start,
                    ));
                } else {
                    skipped += 1;
                }
                start = end + 2;
            }
            (spans, lowered, skipped)
        });
        let step = usize::from(step % 80) + 1;
        masked_lines(&stream, stream.len()) == expected && masked_lines(&stream, step) == expected
    }
    checker().quickcheck(property as fn(Vec<Vec<u8>>, u8) -> bool);
}

/// `word` with each byte, by its pick: as it is, in capitals, one bit
/// away (any of the eight), or the pick itself.
fn near(word: &[u8], picks: &[u8]) -> Vec<u8> {
    word.iter()
        .zip(picks)
        .map(|(&byte, &pick)| match pick % 4 {
            0 => byte,
            1 => byte.to_ascii_uppercase(),
            2 => byte ^ (1 << (pick / 4 % 8)),
            _ => pick,
        })
        .collect()
}

#[test]
fn the_action_id_word_compare_matches_a_case_insensitive_compare() {
    fn property(picks: [u8; 8], key_len: u8) -> bool {
        // The case bit's neighbours must not match.
        let key = near(b"actionid", &picks);
        let key_end = if key_len.is_multiple_of(5) { 7 } else { 8 };
        let line = [&key[..key_end], b": 1\r\n"].concat();
        let header = super::line::HeaderAt {
            key_end,
            value_start: key_end + 2,
        };
        header.is_action_id(&line) == line[..key_end].eq_ignore_ascii_case(b"actionid")
    }
    checker().quickcheck(property as fn([u8; 8], u8) -> bool);
}

#[test]
fn the_event_word_compare_matches_a_case_insensitive_compare() {
    fn property(picks: [u8; 6], len: u8) -> bool {
        // `\x1a` stands in for the colon: it differs only in the case bit,
        // and is a control byte.
        let bytes = near(b"event:", &picks);
        let input = &bytes[..usize::from(len) % 7];
        let expected = input.len() == 6 && input.eq_ignore_ascii_case(b"event:");
        super::machine::starts_event(input) == expected
    }
    checker().quickcheck(property as fn([u8; 6], u8) -> bool);
}
