//! Field matching checked against its definition on generated names
//! (deterministic: quickcheck with a fixed seed).

use quickcheck::{Gen, QuickCheck};

use super::{CACHED_TYPES, FieldTable, names_bytes, same_bytes, with_table};

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
        FieldTable::new(&fields).find(&fields, key.as_bytes(), start) == expected
    }
    checker().quickcheck(property as fn(Vec<u8>, Vec<Vec<u8>>, u8) -> bool);
}

/// Field lists with one field per normal form: a key names at most one.
fn unambiguous(fields: Vec<Vec<u8>>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    fields
        .into_iter()
        .take(63)
        .map(name)
        .filter(|field| seen.insert(normal_form(field)))
        .collect()
}

/// A field's normal form by the definition (`None` when it holds a `(`).
fn normal_form(field: &str) -> Option<Vec<u8>> {
    (!field.contains('(')).then(|| {
        field
            .bytes()
            .filter(|&byte| byte != b'_')
            .map(|byte| byte.to_ascii_lowercase())
            .collect()
    })
}

#[test]
fn a_type_whose_fields_differ_finds_the_one_field_a_key_names() {
    fn property(key: Vec<u8>, fields: Vec<Vec<u8>>, start: u8) -> bool {
        let key = name(key);
        let owned = unambiguous(fields);
        let fields: Vec<&str> = owned.iter().map(String::as_str).collect();
        let start = usize::from(start) % (fields.len() + 1);
        let expected = (0..fields.len())
            .find(|&position| names_by_definition(key.as_bytes(), fields[position]));
        FieldTable::new(&fields).find(&fields, key.as_bytes(), start) == expected
    }
    checker().quickcheck(property as fn(Vec<u8>, Vec<Vec<u8>>, u8) -> bool);
}

#[test]
fn names_compare_as_bytes_at_every_length() {
    let text = b"abcdefghijklmnopqrstuvwxyz0123456789";
    for len in 0..=text.len() {
        let a = &text[..len];
        assert!(same_bytes(a, a));
        for at in 0..len {
            let mut b = a.to_vec();
            b[at] ^= 0x20;
            assert!(!same_bytes(a, &b), "{len} bytes, differing at {at}");
        }
        assert!(!same_bytes(a, &text[..len.saturating_sub(1)]) || len == 0);
    }
}

/// Leaked field lists: statics, as a type's are.
fn leaked(count: usize) -> Vec<&'static [&'static str]> {
    (0..count)
        .map(|list| {
            let fields: Vec<&'static str> = (0..=list % 7)
                .map(|field| &*Box::leak(format!("Field{list}x{field}").into_boxed_str()))
                .collect();
            &*Box::leak(fields.into_boxed_slice())
        })
        .collect()
}

#[test]
fn the_thread_keeps_each_types_table_and_rebuilds_a_slot_another_type_took() {
    // More lists than slots: some share a slot and take it in turn.
    let lists = leaked(3 * CACHED_TYPES);
    for _round in 0..2 {
        for fields in &lists {
            let kept = with_table(fields, Clone::clone);
            assert_eq!(kept, FieldTable::new(fields));
            let last = fields.len() - 1;
            let key = fields[last].to_ascii_lowercase();
            assert_eq!(
                with_table(fields, |table| table.find(fields, key.as_bytes(), 0)),
                Some(last)
            );
        }
    }
}
