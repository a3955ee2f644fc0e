//! A serde `Deserializer` that makes up values: any type the catalogue
//! declares is generated through its own `Deserialize`, so one generic
//! generator covers every type, field by field, from a seed. Strings are
//! borrowed from a pool made beforehand, as the catalogue's `&str` fields
//! borrow from a frame.
//!
//! Values are the ones a header can carry and read back the same: text
//! without CR, LF or NUL, without spaces at either end, never empty (an
//! empty value reads as `None`); finite numbers; map keys without `=`.

use apn_ami_core::health::SeededRng;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

/// A number in `0..count`.
pub(crate) fn pick(rng: &mut SeededRng, count: usize) -> usize {
    usize::try_from(rng.up_to(count as u64 - 1)).expect("a small count")
}

/// Text a header value may hold, ends trimmed.
pub(crate) fn text_pool(rng: &mut SeededRng, count: usize) -> Vec<String> {
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 /._@<>\"-:,=()#*+";
    (0..count)
        .map(|_| {
            let length = 1 + pick(rng, 25);
            let text: String = (0..length)
                .map(|_| char::from(ALPHABET[pick(rng, ALPHABET.len())]))
                .collect();
            let text = text.trim().to_owned();
            if text.is_empty() {
                "x".to_owned()
            } else {
                text
            }
        })
        .collect()
}

/// Names a map key (a channel variable) may have.
pub(crate) fn key_pool(rng: &mut SeededRng, count: usize) -> Vec<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789";
    (0..count)
        .map(|_| {
            let length = 1 + pick(rng, 13);
            (0..length)
                .map(|_| char::from(ALPHABET[pick(rng, ALPHABET.len())]))
                .collect()
        })
        .collect()
}

/// The generator: borrowed pools and a seeded stream of choices.
pub(crate) struct Random<'de> {
    pub(crate) texts: &'de [String],
    pub(crate) keys: &'de [String],
    pub(crate) rng: SeededRng,
}

impl<'de> Random<'de> {
    fn text(&mut self) -> &'de str {
        &self.texts[pick(&mut self.rng, self.texts.len())]
    }

    fn key(&mut self) -> &'de str {
        &self.keys[pick(&mut self.rng, self.keys.len())]
    }

    fn coin(&mut self) -> bool {
        self.rng.up_to(1) == 0
    }
}

/// Generates an error-free value of one primitive type.
macro_rules! numbers {
    ($($method:ident => $visit:ident: $kind:ty),* $(,)?) => {
        $(
            // Small numbers half the time, any the other half; the cast
            // keeps the low bits, any of which are a valid value.
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, de::value::Error> {
                let raw = if self.coin() { self.rng.up_to(100) } else { self.rng.next_u64() };
                visitor.$visit(raw as $kind)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for &mut Random<'de> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("the generator needs to know the type"))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let truth = self.coin();
        visitor.visit_bool(truth)
    }

    numbers! {
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let tenths = f64::from(u32::try_from(self.rng.up_to(100_000)).expect("small"));
        visitor.visit_f64(tenths / 10.0)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let text = self.text();
        visitor.visit_borrowed_str(text)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let text = self.text();
        visitor.visit_borrowed_bytes(text.as_bytes())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if self.coin() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let count = pick(&mut self.rng, 4);
        visitor.visit_seq(Elements {
            random: self,
            left: count,
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let count = pick(&mut self.rng, 4);
        visitor.visit_map(Entries {
            random: self,
            left: count,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Fields {
            random: self,
            names: fields,
            next: 0,
        })
    }

    forward_to_deserialize_any! {
        i128 u128 f32 char byte_buf unit unit_struct tuple tuple_struct
        enum identifier ignored_any
    }
}

struct Elements<'r, 'de> {
    random: &'r mut Random<'de>,
    left: usize,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = de::value::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.random).map(Some)
    }
}

/// A map's entries: keys from the key pool (a repeat overwrites, as it
/// would on the wire).
struct Entries<'r, 'de> {
    random: &'r mut Random<'de>,
    left: usize,
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = de::value::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let key = self.random.key();
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        seed.deserialize(&mut *self.random)
    }
}

/// Every field of a struct, each with a made-up value.
struct Fields<'r, 'de> {
    random: &'r mut Random<'de>,
    names: &'static [&'static str],
    next: usize,
}

impl<'de> MapAccess<'de> for Fields<'_, 'de> {
    type Error = de::value::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some(&field) = self.names.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        seed.deserialize(field.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        seed.deserialize(&mut *self.random)
    }
}
