//! The catalogue's own reader against the general one: frames of every
//! catalogue event, with each field's header present or not, spelled as
//! Asterisk spells it or in other cases, with underscores or a `(…)`
//! suffix, repeated, among headers no field names, with values that fit
//! and values that do not. Whatever the catalogue reader decides must be
//! what `Frame::parse` gives; what it leaves undecided goes to `parse`.

use std::fmt;

use serde::de::{self, Deserialize, Visitor};
use serde::forward_to_deserialize_any;

use super::Event;
use crate::protocol::{Frame, Parser, ParserConfig};

/// A seeded generator (SplitMix64): `typed` may use only the protocol
/// layer, so not the health layer's.
struct SeededRng(u64);

impl SeededRng {
    const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A value in `0..=bound`.
    fn up_to(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^= mixed >> 31;
        bound.checked_add(1).map_or(mixed, |span| mixed % span)
    }
}

/// The names serde gives a struct's fields, in declared order.
pub(super) fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(FieldNames) {
        Err(Captured(Some(fields))) => fields,
        _ => panic!("not a struct"),
    }
}

/// A deserializer that only learns a struct's field names.
struct FieldNames;

/// What [`FieldNames`] learnt, as its error.
#[derive(Debug)]
struct Captured(Option<&'static [&'static str]>);

impl fmt::Display for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names")
    }
}

impl std::error::Error for Captured {}

impl de::Error for Captured {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self(None)
    }
}

impl<'de> de::Deserializer<'de> for FieldNames {
    type Error = Captured;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Captured> {
        Err(Captured(None))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Captured> {
        Err(Captured(Some(fields)))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple map
        tuple_struct enum identifier ignored_any
    }
}

/// Values of every kind a catalogue field has, and some that fit none.
const VALUES: &[&[u8]] = &[
    b"",
    b"0",
    b"1",
    b"6",
    b"16",
    b" 42 ",
    b"-3",
    b"4294967296",
    b"1.5",
    b"yes",
    b"No",
    b"off",
    b"Up",
    b"Ringing",
    b"PJSIP/100-0000002a",
    b"Normal Clearing",
    b"caf\xc3\xa9",
    b"\xff\xfe latin-1",
    b"1722870012.1",
];

/// Headers no catalogue field names.
const OTHER_KEYS: &[&str] = &["Privilege", "Timestamp", "SystemName", "X-Custom", "ZZ"];

/// A place in `0..=len`.
fn place(rng: &mut SeededRng, len: usize) -> usize {
    usize::try_from(rng.up_to(len as u64)).unwrap_or(0)
}

fn pick<'t, T: ?Sized>(rng: &mut SeededRng, from: &[&'t T]) -> &'t T {
    from[place(rng, from.len() - 1)]
}

/// `name` spelled another way the general reader still matches, or does
/// not (a stray character).
fn respelled(rng: &mut SeededRng, name: &str) -> String {
    match rng.up_to(10) {
        0 => name.to_ascii_lowercase(),
        1 => name.to_ascii_uppercase(),
        2 => {
            let at = place(rng, name.len());
            format!("{}_{}", &name[..at], &name[at..])
        }
        3 => format!("{name}(PJSIP/100)"),
        4 => format!("{name}x"),
        _ => name.to_owned(),
    }
}

fn frame_of(bytes: &[u8]) -> Frame {
    let mut parser = Parser::new(ParserConfig::default().expect_banner(false)).expect("valid");
    let mut frames = Vec::new();
    parser
        .feed(bytes, |item| frames.extend(item.into_frame()))
        .expect("a frame");
    assert_eq!(frames.len(), 1, "{}", bytes.escape_ascii());
    frames.remove(0)
}

#[test]
fn the_catalogue_reader_decides_as_parse_does_or_leaves_the_frame_to_it() {
    let catalogue = Event::catalogue();
    let mut rng = SeededRng::new(0x00ca_7a10);
    let (mut decided, mut undecided, mut invalid) = (0, 0, 0);
    for case in 0..40_000 {
        let (name, fields) = catalogue[case % catalogue.len()];
        let mut bytes = format!("Event: {name}\r\n").into_bytes();
        // Every field, in declared order, then the other headers at random
        // places: usually present and spelled as declared.
        let mut headers: Vec<String> = Vec::new();
        for field in fields {
            if rng.up_to(15) != 0 {
                let key = if rng.up_to(7) == 0 {
                    respelled(&mut rng, field)
                } else {
                    (*field).to_owned()
                };
                headers.push(key.clone());
                if rng.up_to(20) == 0 {
                    headers.push(key);
                }
            }
        }
        for _ in 0..rng.up_to(4) {
            let at = place(&mut rng, headers.len());
            headers.insert(at, pick(&mut rng, OTHER_KEYS).to_owned());
        }
        for key in headers {
            bytes.extend_from_slice(key.as_bytes());
            bytes.extend_from_slice(b": ");
            // Mostly a value every field takes (text, a number, `true`);
            // the others now and then.
            let value: &[u8] = if rng.up_to(9) == 0 {
                pick(&mut rng, VALUES)
            } else {
                b"1"
            };
            bytes.extend_from_slice(value);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        let frame = frame_of(&bytes);
        let by_parse = Event::from_frame_by_parse(&frame);
        assert_eq!(
            Event::from_frame(&frame),
            by_parse,
            "{}",
            bytes.escape_ascii()
        );
        match Event::read_known(&frame) {
            Ok(event) => {
                assert_eq!(event, by_parse, "{}", bytes.escape_ascii());
                decided += 1;
            }
            Err(_) => undecided += 1,
        }
        invalid += usize::from(matches!(by_parse, Event::Invalid { .. }));
    }
    assert!(
        decided > 5_000 && undecided > 5_000 && invalid > 5_000,
        "every path was taken: {decided} decided, {undecided} undecided, {invalid} invalid"
    );
}

#[test]
fn every_catalogue_type_has_its_fields_found() {
    // Each type read from a frame with every field spelled as declared and
    // a value that fits text: all of them are decided by the catalogue
    // reader, none left to parse, so a key the macro spelled wrong shows.
    for (name, fields) in Event::catalogue() {
        let mut bytes = format!("Event: {name}\r\n").into_bytes();
        for field in fields {
            bytes.extend_from_slice(field.as_bytes());
            bytes.extend_from_slice(b": 1\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        let frame = frame_of(&bytes);
        let known = Event::read_known(&frame).unwrap_or_else(|_| panic!("{name} undecided"));
        assert_eq!(known, Event::from_frame_by_parse(&frame), "{name}");
        assert!(
            !matches!(known, Event::Unknown(_) | Event::Invalid { .. }),
            "{name}"
        );
    }
}
