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

use super::field_match::{Matches, names_bytes};
use crate::protocol::{Frame, Value};

/// Why a frame does not fit a type: the header, its value (escaped), and
/// what went wrong.
///
/// One pointer wide: every step of a read returns a `Result` with this
/// error, and a small one is returned in registers where a wide one would
/// be copied through memory at each step (a fifth of a read's cost).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(Box<Details>);

/// What a [`ParseError`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    header: Option<String>,
    value: Option<String>,
    message: String,
}

impl ParseError {
    /// The header (as the type's field names it) the error is about.
    #[must_use]
    pub fn header(&self) -> Option<&str> {
        self.0.header.as_deref()
    }

    /// The value that did not fit, escaped.
    #[must_use]
    pub fn value(&self) -> Option<&str> {
        self.0.value.as_deref()
    }

    /// What went wrong.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.0.message
    }

    fn about(header: &str, value: Value<'_>, message: impl fmt::Display) -> Self {
        Self(Box::new(Details {
            header: Some(header.to_owned()),
            value: Some(value.as_bytes().escape_ascii().to_string()),
            message: message.to_string(),
        }))
    }

    /// Names the header (and value) of an error raised without them (by
    /// the type's own visitor).
    fn in_header(mut self, header: &str, value: Option<Value<'_>>) -> Self {
        if self.0.header.is_none() {
            self.0.header = Some(header.to_owned());
            self.0.value = value.map(|value| value.as_bytes().escape_ascii().to_string());
        }
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0.header, &self.0.value) {
            (Some(header), Some(value)) => {
                write!(f, "header {header} = \"{value}\": {}", self.0.message)
            }
            (Some(header), None) => write!(f, "header {header}: {}", self.0.message),
            _ => f.write_str(&self.0.message),
        }
    }
}

impl std::error::Error for ParseError {}

impl de::Error for ParseError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self(Box::new(Details {
            header: None,
            value: None,
            message: message.to_string(),
        }))
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
            names: fields,
            matches: &matches,
            index: 0,
            first: 0,
        })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct enum identifier ignored_any
    }
}

/// A struct's declared fields, each with the headers it names.
struct Fields<'m, 'de> {
    names: &'static [&'static str],
    matches: &'m Matches<'de>,
    /// The next field to look at; the current one is just before it.
    index: usize,
    /// The current field's first header.
    first: usize,
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
            if let Some(first) = self.matches.first(field, position) {
                self.first = first;
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
        let values = Values {
            matches: self.matches,
            field,
            position,
            first: self.first,
        };
        seed.deserialize(values)
            .map_err(|error| error.in_header(field, Some(values.first().value)))
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
    /// Which header names which field.
    matches: &'m Matches<'de>,
    field: &'static str,
    /// The field's place among the type's fields.
    position: usize,
    /// Its first header.
    first: usize,
}

impl<'de> Values<'_, 'de> {
    fn iter(self) -> impl Iterator<Item = ValueDeserializer<'de>> {
        self.matches
            .all(self.field, self.position)
            .map(move |index| self.at(index))
    }

    #[inline]
    fn at(self, index: usize) -> ValueDeserializer<'de> {
        let (value, text) = self.matches.value(index);
        ValueDeserializer {
            value,
            text,
            header: self.field,
        }
    }

    #[inline]
    fn first(self) -> ValueDeserializer<'de> {
        self.at(self.first)
    }
}

impl<'de> de::Deserializer<'de> for Values<'_, 'de> {
    type Error = ParseError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        self.first().deserialize_any(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        visitor.visit_seq(Each {
            values: self.iter(),
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParseError> {
        visitor.visit_map(Assignments {
            values: self.iter().map(|value| value.value),
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
            text: None,
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
            text: None,
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
        seed.deserialize(ValueDeserializer {
            value,
            text: None,
            header: "",
        })
        .map_err(|error| error.in_header(key, Some(value)))
    }
}

/// One header value.
pub(super) struct ValueDeserializer<'de> {
    value: Value<'de>,
    /// The value as text, when it was validated with its whole frame.
    text: Option<&'de str>,
    header: &'static str,
}

impl<'de> ValueDeserializer<'de> {
    /// `value` of the header `header` (a field's name, for errors), with
    /// its text when its frame was validated as UTF-8.
    pub(super) const fn new(
        value: Value<'de>,
        text: Option<&'de str>,
        header: &'static str,
    ) -> Self {
        Self {
            value,
            text,
            header,
        }
    }

    fn text(&self) -> Result<&'de str, ParseError> {
        match self.text {
            Some(text) => Ok(text),
            None => self
                .value
                .to_str()
                .map_err(|_| ParseError::about(self.header, self.value, "not UTF-8")),
        }
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
        match self.text() {
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
