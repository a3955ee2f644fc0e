//! Field matching checked against its definition on generated names
//! (deterministic: quickcheck with a fixed seed).

use quickcheck::{Gen, QuickCheck};

use super::{Candidates, fold_lanes, has_paren, lowercase_key_is, names_bytes};

/// The definition: ASCII case ignored, underscores skipped on both sides,
/// the key read up to its first `(`.
fn names_by_definition(key: &[u8], field: &str) -> bool {
    let key = key.split(|&byte| byte == b'(').next().unwrap_or(key);
    let fold = |bytes: &[u8]| -> Vec<u8> {
        bytes
            .iter()
            .filter(|&&byte| byte != b'_')
            .map(u8::to_ascii_lowercase)
            .collect()
    };
    fold(key) == fold(field.as_bytes())
}

/// Names over a small alphabet, so that matches and near misses are common.
fn name(raw: Vec<u8>) -> String {
    const ALPHABET: &[u8] = b"aAbB_(c@`zZ[{";
    raw.into_iter()
        .take(6)
        .map(|byte| char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]))
        .collect()
}

fn checker() -> QuickCheck {
    QuickCheck::new()
        .rng(Gen::from_size_and_seed(16, 0x7e57_2026))
        .tests(5_000)
}

#[test]
fn a_key_names_a_field_exactly_as_defined() {
    fn property(key: Vec<u8>, field: Vec<u8>) -> bool {
        let (key, field) = (name(key), name(field));
        names_bytes(key.as_bytes(), &field) == names_by_definition(key.as_bytes(), &field)
    }
    checker().quickcheck(property as fn(Vec<u8>, Vec<u8>) -> bool);
}

#[test]
fn the_candidate_search_finds_the_first_match_from_its_start_round() {
    fn property(key: Vec<u8>, fields: Vec<Vec<u8>>, start: u8) -> bool {
        let key = name(key);
        let owned: Vec<String> = fields.into_iter().take(63).map(name).collect();
        let fields: Vec<&str> = owned.iter().map(String::as_str).collect();
        let start = usize::from(start) % (fields.len() + 1);
        let expected = (start..fields.len())
            .chain(0..start)
            .find(|&position| names_by_definition(key.as_bytes(), fields[position]));
        Candidates::new(&fields).find(&fields, key.as_bytes(), start) == expected
    }
    checker().quickcheck(property as fn(Vec<u8>, Vec<Vec<u8>>, u8) -> bool);
}

#[test]
fn folding_eight_bytes_at_once_folds_each_as_ascii_does() {
    for byte in 0..=u8::MAX {
        for lane in 0..8 {
            let mut bytes = *b"Az_(0@[{";
            bytes[lane] = byte;
            let mut expected = bytes;
            expected.make_ascii_lowercase();
            assert_eq!(
                fold_lanes(u64::from_le_bytes(bytes)),
                u64::from_le_bytes(expected),
                "byte {byte:#04x} in lane {lane}"
            );
            assert_eq!(
                has_paren(u64::from_le_bytes(bytes)),
                bytes.contains(&b'('),
                "byte {byte:#04x} in lane {lane}"
            );
        }
    }
    assert!(
        !has_paren(u64::from_le_bytes(*b"channel\0")),
        "a zero lane is no paren"
    );
}

/// The quick check of the expected field, on long names (past the eight
/// bytes compared at once) against near copies: case flipped, one byte
/// changed, a `(` suffix. It never says yes wrongly, and says yes whenever
/// a key as frames hold them (lowercase, no underscore) names a field
/// spelled without underscores.
#[test]
fn the_quick_check_agrees_with_the_definition_on_long_names() {
    fn property(raw: Vec<u8>, flips: u32, change: u8, suffix: bool) -> bool {
        const ALPHABET: &[u8] = b"aAbBzZ_(@[`{-1";
        let field: Vec<u8> = raw
            .into_iter()
            .take(24)
            .map(|byte| ALPHABET[usize::from(byte) % ALPHABET.len()])
            .collect();
        let mut key = field.clone();
        for (at, byte) in key.iter_mut().enumerate() {
            if flips & (1 << (at % 32)) != 0 {
                *byte = if byte.is_ascii_lowercase() {
                    byte.to_ascii_uppercase()
                } else {
                    byte.to_ascii_lowercase()
                };
            }
        }
        if !key.is_empty() && change.is_multiple_of(3) {
            let at = usize::from(change) % key.len();
            key[at] = ALPHABET[usize::from(change / 3) % ALPHABET.len()];
        }
        if suffix {
            key.extend_from_slice(b"(PJSIP/1)");
        }
        let Ok(field) = String::from_utf8(field) else {
            return true;
        };
        let quick = lowercase_key_is(&key, field.as_bytes());
        let defined = names_by_definition(&key, &field);
        let as_frames_hold = !field.contains('_')
            && !key
                .iter()
                .any(|byte| byte.is_ascii_uppercase() || matches!(byte, b'_' | b'('));
        (!quick || defined) && (quick || !(as_frames_hold && defined))
    }
    checker().quickcheck(property as fn(Vec<u8>, u32, u8, bool) -> bool);
}
