//! Field matching checked against its definition on generated names
//! (deterministic: quickcheck with a fixed seed).

use quickcheck::{Gen, QuickCheck};

use super::{Candidates, names_bytes};

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
    const ALPHABET: &[u8] = b"aAbB_(c@`";
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
