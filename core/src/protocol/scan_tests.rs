//! The in-register helpers checked against their byte-by-byte definitions
//! on generated input (deterministic: quickcheck with a fixed seed).

use quickcheck::{Gen, QuickCheck};

use super::line::{find_crlf, scan_headers, split_header};
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

fn mask_of(flags: impl Iterator<Item = bool>) -> u64 {
    flags.enumerate().fold(0, |mask, (lane, set)| {
        mask | (u64::from(set) << (lane * 8 + 7))
    })
}

#[test]
fn lanes_equal_is_exact() {
    fn property(bytes: [u8; 8], picks: [u8; 8], target: u8) -> bool {
        let word = word_from(bytes, picks);
        let target = if target.is_multiple_of(2) {
            b':'
        } else {
            target
        };
        swar::lanes_equal(word, target) == mask_of(lanes(word).iter().map(|&b| b == target))
    }
    checker().quickcheck(property as fn([u8; 8], [u8; 8], u8) -> bool);
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
fn lowercase_below_touches_only_ascii_letters_below_the_count() {
    fn property(bytes: [u8; 8], picks: [u8; 8], count: u8) -> bool {
        let word = word_from(bytes, picks);
        let count = usize::from(count) % 9;
        let mut expected = lanes(word);
        for byte in &mut expected[..count] {
            byte.make_ascii_lowercase();
        }
        lanes(swar::lowercase_below(word, count)) == expected
    }
    checker().quickcheck(property as fn([u8; 8], [u8; 8], u8) -> bool);
}

/// The definition of a CRLF search: the first `\r\n` whose `\r` is at or after `from`.
fn crlf_by_bytes(haystack: &[u8], from: usize) -> Option<usize> {
    (from..haystack.len().saturating_sub(1))
        .find(|&at| haystack[at] == b'\r' && haystack[at + 1] == b'\n')
}

/// Lines made of the bytes that matter, so CR, LF and colons are common.
fn line_bytes(raw: Vec<u8>) -> Vec<u8> {
    const ALPHABET: &[u8] = b"\r\n:( AbZz-\x00\x80";
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

#[test]
fn scanned_headers_match_the_scalar_split() {
    fn property(lines: Vec<Vec<u8>>, padding: u8) -> bool {
        let mut window = Vec::new();
        for raw in lines {
            window.extend(line_bytes(raw));
            window.extend_from_slice(b"\r\n");
        }
        window.extend(std::iter::repeat_n(b'x', usize::from(padding % 24)));
        let mut agree = true;
        scan_headers(&window, 0, |start, end, header| {
            let line = &window[start..end];
            let expected = split_header(line);
            agree &= header.map(|h| (h.key_end, h.value_start)) == expected;
        });
        agree
    }
    checker().quickcheck(property as fn(Vec<Vec<u8>>, u8) -> bool);
}

#[test]
fn the_action_id_word_compare_matches_a_case_insensitive_compare() {
    fn property(picks: [u8; 8], key_len: u8) -> bool {
        // Each byte: a letter of `actionid` in either case, or a byte one
        // bit away from it (the case bit's neighbours must not match).
        let key: Vec<u8> = b"actionid"
            .iter()
            .zip(picks)
            .map(|(&letter, pick)| match pick % 4 {
                0 => letter,
                1 => letter.to_ascii_uppercase(),
                2 => letter ^ (1 << (pick % 8)),
                _ => pick,
            })
            .collect();
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
