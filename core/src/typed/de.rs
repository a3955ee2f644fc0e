//! Frames read as serde types: `frame.parse::<Hangup>()`.
//!
//! A struct's fields match headers ignoring ASCII case and underscores
//! (`caller_id_num` reads `CallerIDNum`), and a key's `(…)` suffix
//! (`chan_variable` reads every `ChanVariable(PJSIP/100-…)`). Strings and
//! bytes are borrowed from the frame where the type asks (`&str`, `&[u8]`,
//! `#[serde(borrow)] Cow<str>`). Numbers parse from the text; booleans take
//! Asterisk's `yes/no`, `true/false`, `on/off`, `1/0` in any case; unit enum
//! variants match like fields. An absent header is `None` for an `Option`
//! (so is an empty value), a repeated key fills a `Vec` in wire order, and
//! a map field reads `NAME=value` values (channel variables). Headers no
//! field names are ignored, unless the type takes the rest with
//! `#[serde(flatten)]` (then keys are the frame's lowercase keys). Errors
//! name the header and its value.

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use crate::protocol::{Frame, Value};

/// Why a frame does not fit a type: the header, its value (escaped), and
/// what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    header: Option<String>,
    value: Option<String>,
    message: String,
}

impl ParseError {
    /// The header (as the type's field names it) the error is about.
    #[must_use]
    pub fn header(&self) -> Option<&str> {
        self.header.as_deref()
    }

    /// The value that did not fit, escaped.
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// What went wrong.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    fn about(header: &str, value: Value<'_>, message: impl fmt::Display) -> Self {
        Self {
            header: Some(header.to_owned()),
            value: Some(value.as_bytes().escape_ascii().to_string()),
            message: message.to_string(),
        }
    }

    /// Names the header (and value) of an error raised without them (by
    /// the type's own visitor).
    fn in_header(mut self, header: &str, value: Option<Value<'_>>) -> Self {
        if self.header.is_none() {
            self.header = Some(header.to_owned());
            self.value = value.map(|value| value.as_bytes().escape_ascii().to_string());
        }
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.header, &self.value) {
            (Some(header), Some(value)) => {
                write!(f, "header {header} = \"{value}\": {}", self.message)
            }
            (Some(header), None) => write!(f, "header {header}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}

impl de::Error for ParseError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self {
            header: None,
            value: None,
            message: message.to_string(),
        }
    }
}

impl Frame {
    /// This frame as a `T`: see [`typed::de`](crate::typed::de) for how
    /// headers match fields and read as values.
    ///
    /// ```
    /// use apn_ami_core::protocol::{Parser, ParserConfig};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Hangup<'a> {
    ///     channel: &'a str,
    ///     caller_id_num: Option<u32>,
    ///     cause: u16,
    ///     #[serde(rename = "cause-txt")]
    ///     cause_text: String,
    /// }
    ///
    /// let mut parser = Parser::new(ParserConfig::default().expect_banner(false))?;
    /// let mut frames = Vec::new();
    /// parser.feed(
    ///     b"Event: Hangup\r\nChannel: PJSIP/100-0000002a\r\nCallerIDNum: 100\r\nCause: 16\r\nCause-txt: Normal Clearing\r\n\r\n",
    ///     |item| frames.extend(item.into_frame()),
    /// )?;
    /// let hangup: Hangup<'_> = frames[0].parse()?;
    /// assert_eq!((hangup.channel, hangup.caller_id_num, hangup.cause), ("PJSIP/100-0000002a", Some(100), 16));
    /// assert_eq!(hangup.cause_text, "Normal Clearing");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ParseError`] naming the header and value that did not fit, or the
    /// field that is missing.
    pub fn parse<'de, T: de::Deserialize<'de>>(&'de self) -> Result<T, ParseError> {
        T::deserialize(FrameDeserializer { frame: self })
    }
}

/// Whether a frame key (lowercase, maybe with a `(…)` suffix) names `field`,
/// ignoring ASCII case and underscores on both sides.
fn names(key: &str, field: &str) -> bool {
    names_bytes(key.as_bytes(), field)
}

/// [`names`] for a key's raw bytes.
fn names_bytes(key: &[u8], field: &str) -> bool {
    let field = field.as_bytes();
    let (mut in_key, mut in_field) = (0, 0);
    loop {
        while key.get(in_key) == Some(&b'_') {
            in_key += 1;
        }
        while field.get(in_field) == Some(&b'_') {
            in_field += 1;
        }
        // The key ends at its `(` suffix.
        let next = key.get(in_key).filter(|&&byte| byte != b'(');
        match (next, field.get(in_field)) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {
                in_key += 1;
                in_field += 1;
            }
            _ => return false,
        }
    }
}

/// The whole frame, as a struct or a map.
struct FrameDeserializer<'de> {
    frame: &'de Frame,
}

impl<'de> de::Deserializer<'de> for FrameDeserializer<'de> {
    type Error = ParseError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        visitor.visit_map(EveryHeader {
            frame: self.frame,
            index: 0,
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParseError> {
        let matches = Matches::new(self.frame, fields);
        visitor.visit_map(Fields {
            frame: self.frame,
            names: fields,
            matches: &matches,
            index: 0,
        })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct enum identifier ignored_any
    }
}

/// Most headers and fields [`Matches`] works out at once; a frame or type
/// with more is matched header by header.
const MATCHED: usize = 64;

/// Which headers each field names, worked out once per read: each key is
/// compared with the fields from just after the last field found (types
/// declare fields in about the order servers write headers, so the first
/// probe is usually the match), a probe rejected on its first significant
/// byte before [`names`] compares the rest. Without it every read of a
/// field would scan every header, each comparison a normalisation of its
/// own.
struct Matches {
    /// Per header (up to [`MATCHED`]): 1 + the field it names, 0 for none.
    field_of: [u8; MATCHED],
    /// Per field: 1 + its first header, 0 for none.
    first_of: [u8; MATCHED],
    /// Whether the tables hold the answers (frame and type small enough).
    complete: bool,
}

impl Matches {
    fn new(frame: &Frame, fields: &[&str]) -> Self {
        let mut matches = Self {
            field_of: [0; MATCHED],
            first_of: [0; MATCHED],
            complete: frame.len() < MATCHED && fields.len() < MATCHED,
        };
        if !matches.complete {
            return matches;
        }
        let candidates = Candidates::new(fields);
        let mut after = 0;
        for index in 0..frame.len() {
            let (key, _) = frame.raw_header(index);
            if let Some(found) = candidates.find(fields, key, after) {
                after = found + 1;
                // Both below `MATCHED` (64): they fit in a byte.
                matches.field_of[index] = u8::try_from(found + 1).unwrap_or(0);
                if matches.first_of[found] == 0 {
                    matches.first_of[found] = u8::try_from(index + 1).unwrap_or(0);
                }
            }
        }
        matches
    }

    /// The first value of field `field` (at `position` among the type's
    /// fields), if any header names it.
    fn first<'de>(&self, frame: &'de Frame, field: &str, position: usize) -> Option<Value<'de>> {
        if self.complete {
            let index = usize::from(self.first_of[position]).checked_sub(1)?;
            return Some(frame.raw_header(index).1);
        }
        frame
            .raw_headers()
            .find(|(key, _)| names_bytes(key.as_bytes(), field))
            .map(|(_, value)| value)
    }

    /// Whether header `index` (with raw key `key`) names field `field` (at
    /// `position` among the type's fields).
    fn names(&self, index: usize, key: &[u8], field: &str, position: usize) -> bool {
        if self.complete {
            usize::from(self.field_of[index]) == position + 1
        } else {
            names_bytes(key, field)
        }
    }
}

/// The type's fields grouped by the first byte of their name as [`names`]
/// compares it (folded into 32 buckets; a collision only costs a
/// comparison): a key is compared only with the fields that can match it,
/// so a header the type does not declare costs one table read.
struct Candidates {
    /// Per bucket, a bit per field (fewer than [`MATCHED`]: 64).
    by_first: [u64; 32],
    /// Fields whose name normalises to nothing (or to a `(` suffix).
    without_first: u64,
}

impl Candidates {
    fn new(fields: &[&str]) -> Self {
        let mut candidates = Self {
            by_first: [0; 32],
            without_first: 0,
        };
        for (position, field) in fields.iter().enumerate() {
            let bit = 1 << position;
            match first_significant(field.as_bytes()) {
                Some(first) => candidates.by_first[usize::from(first & 31)] |= bit,
                None => candidates.without_first |= bit,
            }
        }
        candidates
    }

    /// The field `key` names, searching from field `start` round to just
    /// before it.
    fn find(&self, fields: &[&str], key: &[u8], start: usize) -> Option<usize> {
        let all = match first_significant(key) {
            Some(first) => self.by_first[usize::from(first & 31)],
            None => self.without_first,
        };
        let from_start = u64::MAX << start;
        for mut bits in [all & from_start, all & !from_start] {
            while bits != 0 {
                let position = bits.trailing_zeros() as usize;
                if same_name(key, fields[position]) {
                    return Some(position);
                }
                bits &= bits - 1;
            }
        }
        None
    }
}

/// The first byte of a name as [`names`] compares it (underscores skipped,
/// ASCII case folded); `None` for a name that is empty so, or that starts
/// with its `(` suffix.
fn first_significant(name: &[u8]) -> Option<u8> {
    name.iter()
        .find(|&&byte| byte != b'_')
        .filter(|&&byte| byte != b'(')
        .map(u8::to_ascii_lowercase)
}

/// [`names_bytes`], with the common case first: the same bytes but for
/// ASCII case (a plain loop the compiler unrolls). A field that holds a `(`
/// never names a key, which is read only up to its own.
fn same_name(key: &[u8], field: &str) -> bool {
    if key.len() == field.len() && key.eq_ignore_ascii_case(field.as_bytes()) {
        return !field.as_bytes().contains(&b'(');
    }
    names_bytes(key, field)
}

/// A struct's declared fields, each with the headers it names.
struct Fields<'m, 'de> {
    frame: &'de Frame,
    names: &'static [&'static str],
    matches: &'m Matches,
    /// The next field to look at; the current one is just before it.
    index: usize,
}

impl<'de> MapAccess<'de> for Fields<'_, 'de> {
    type Error = ParseError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ParseError> {
        while let Some(&field) = self.names.get(self.index) {
            let position = self.index;
            self.index += 1;
            // An absent field is left to serde: `None`, a default, or
            // "missing field".
            if self.matches.first(self.frame, field, position).is_some() {
                return seed.deserialize(field.into_deserializer()).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ParseError> {
        let position = self.index - 1;
        let field = self.names[position];
        let values = self.values(field, position);
        let first = self.matches.first(self.frame, field, position);
        seed.deserialize(values)
            .map_err(|error| error.in_header(field, first))
    }
}

impl<'m, 'de> Fields<'m, 'de> {
    const fn values(&self, field: &'static str, position: usize) -> Values<'m, 'de> {
        Values {
            frame: self.frame,
            field,
            position,
            matches: self.matches,
        }
    }
}

/// Hands a read of one value to the first value of the field's headers.
macro_rules! to_first_value {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
                self.first().$method(visitor)
            }
        )*
    };
}

/// Every value of the headers one field names.
#[derive(Clone, Copy)]
struct Values<'m, 'de> {
    frame: &'de Frame,
    field: &'static str,
    /// The field's place among the type's fields.
    position: usize,
    /// Which header names which field.
    matches: &'m Matches,
}

impl<'de> Values<'_, 'de> {
    fn iter(self) -> impl Iterator<Item = Value<'de>> {
        self.frame
            .raw_headers()
            .enumerate()
            .filter(move |&(index, (key, _))| {
                self.matches
                    .names(index, key.as_bytes(), self.field, self.position)
            })
            .map(|(_, (_, value))| value)
    }

    fn first(self) -> ValueDeserializer<'de> {
        ValueDeserializer {
            value: self
                .matches
                .first(self.frame, self.field, self.position)
                .unwrap_or(Value::new(b"")),
            header: self.field,
        }
    }
}

impl<'de> de::Deserializer<'de> for Values<'_, 'de> {
    type Error = ParseError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        self.first().deserialize_any(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        let header = self.field;
        visitor.visit_seq(Each {
            values: self
                .iter()
                .map(move |value| ValueDeserializer { value, header }),
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        visitor.visit_map(Assignments {
            values: self.iter(),
            header: self.field,
            value: None,
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        self.first().deserialize_option(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        self.first().deserialize_bool(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParseError> {
        self.first().deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParseError> {
        visitor.visit_newtype_struct(self)
    }

    to_first_value! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_i128 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf
    }

    forward_to_deserialize_any! {
        unit unit_struct tuple tuple_struct struct identifier ignored_any
    }
}

/// A sequence of values.
struct Each<I> {
    values: I,
}

impl<'de, I: Iterator<Item = ValueDeserializer<'de>>> SeqAccess<'de> for Each<I> {
    type Error = ParseError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ParseError> {
        self.values
            .next()
            .map(|value| seed.deserialize(value))
            .transpose()
    }
}

/// `NAME=value` values as a map (channel variables).
struct Assignments<'de, I> {
    values: I,
    header: &'static str,
    value: Option<Value<'de>>,
}

impl<'de, I: Iterator<Item = Value<'de>>> MapAccess<'de> for Assignments<'de, I> {
    type Error = ParseError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ParseError> {
        let Some(assignment) = self.values.next() else {
            return Ok(None);
        };
        let bytes = assignment.as_bytes();
        let equals = memchr::memchr(b'=', bytes).unwrap_or(bytes.len());
        self.value = Some(Value::new(&bytes[(equals + 1).min(bytes.len())..]));
        let name = ValueDeserializer {
            value: Value::new(&bytes[..equals]),
            header: self.header,
        };
        seed.deserialize(name).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ParseError> {
        seed.deserialize(ValueDeserializer {
            value: self.value.take().unwrap_or(Value::new(b"")),
            header: self.header,
        })
    }
}

/// Every header in wire order, keys lowercase: a map, or a flattened rest.
struct EveryHeader<'de> {
    frame: &'de Frame,
    index: usize,
    value: Option<(&'de str, Value<'de>)>,
}

impl<'de> MapAccess<'de> for EveryHeader<'de> {
    type Error = ParseError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ParseError> {
        let Some((key, value)) = self.frame.header(self.index) else {
            return Ok(None);
        };
        self.index += 1;
        self.value = Some((key, value));
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ParseError> {
        let (key, value) = self.value.take().unwrap_or(("", Value::new(b"")));
        seed.deserialize(ValueDeserializer { value, header: "" })
            .map_err(|error| error.in_header(key, Some(value)))
    }
}

/// One header value.
struct ValueDeserializer<'de> {
    value: Value<'de>,
    header: &'static str,
}

impl<'de> ValueDeserializer<'de> {
    fn text(&self) -> Result<&'de str, ParseError> {
        self.value
            .to_str()
            .map_err(|_| ParseError::about(self.header, self.value, "not UTF-8"))
    }

    fn number<T: std::str::FromStr>(&self) -> Result<T, ParseError>
    where
        T::Err: fmt::Display,
    {
        let text = self.text()?;
        text.trim()
            .parse()
            .map_err(|error| ParseError::about(self.header, self.value, error))
    }
}

/// Reads a number of one type and hands it to the visitor's method.
macro_rules! numbers {
    ($($method:ident => $visit:ident: $kind:ty),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
                visitor.$visit(self.number::<$kind>()?)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = ParseError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        match self.value.to_str() {
            Ok(text) => visitor.visit_borrowed_str(text),
            Err(_) => visitor.visit_borrowed_bytes(self.value.as_bytes()),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        let text = self.text()?.trim();
        let truth = ["yes", "true", "on", "1"]
            .iter()
            .any(|word| text.eq_ignore_ascii_case(word));
        let falsity = ["no", "false", "off", "0"]
            .iter()
            .any(|word| text.eq_ignore_ascii_case(word));
        if truth == falsity {
            return Err(ParseError::about(
                self.header,
                self.value,
                "not a boolean (yes/no, true/false, on/off, 1/0)",
            ));
        }
        visitor.visit_bool(truth)
    }

    numbers! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u128 => visit_u128: u128,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        visitor.visit_borrowed_str(self.text()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        visitor.visit_borrowed_bytes(self.value.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        if self.value.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParseError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParseError> {
        let text = self.text()?.trim();
        let Some(&variant) = variants.iter().find(|variant| names(text, variant)) else {
            return Err(ParseError::about(
                self.header,
                self.value,
                format_args!("not one of {variants:?}"),
            ));
        };
        visitor.visit_enum(variant.into_deserializer())
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        let mut chars = self.text()?.chars();
        match (chars.next(), chars.next()) {
            (Some(one), None) => visitor.visit_char(one),
            _ => Err(ParseError::about(
                self.header,
                self.value,
                "not one character",
            )),
        }
    }

    forward_to_deserialize_any! {
        unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

#[cfg(test)]
#[path = "de_match_tests.rs"]
mod match_tests;
