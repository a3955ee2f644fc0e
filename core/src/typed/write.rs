//! Serde types written as AMI headers: an [`Action`] from any
//! `T: Serialize` ([`to_action`]), or an event's wire bytes
//! ([`to_event_bytes`], for fake servers and tests).
//!
//! A struct's fields (or a map's entries) become headers in order, named as
//! serde names them (`#[serde(rename_all = "PascalCase")]` gives Asterisk's
//! names; Asterisk matches header names ignoring case). Values are text:
//! numbers in decimal, booleans `true`/`false`, unit enum variants by name.
//! `None` and `()` write no header; a sequence writes the header once per
//! element; a map writes it once per entry as `NAME=value`, as `Variable`
//! takes channel variables. Every value goes through the [`Action`]
//! builder's checks, so CR, LF and NUL are refused as they are everywhere:
//! nothing a value holds can inject a header.
//!
//! ```
//! use std::collections::BTreeMap;
//! use apn_ami_core::typed::to_action;
//!
//! #[derive(serde::Serialize)]
//! #[serde(rename_all = "PascalCase")]
//! struct Originate<'a> {
//!     channel: &'a str,
//!     exten: &'a str,
//!     priority: u32,
//!     r#async: bool,
//!     variable: BTreeMap<&'a str, &'a str>,
//!     account: Option<&'a str>,
//! }
//!
//! let action = to_action("Originate", &Originate {
//!     channel: "PJSIP/100",
//!     exten: "200",
//!     priority: 1,
//!     r#async: true,
//!     variable: BTreeMap::from([("CAMPAIGN", "7"), ("LEAD", "42")]),
//!     account: None,
//! })?;
//! let mut wire = Vec::new();
//! action.encode(Some("pbx1:1:1"), &mut wire)?;
//! assert_eq!(
//!     wire,
//!     b"Action: Originate\r\nActionID: pbx1:1:1\r\nChannel: PJSIP/100\r\nExten: 200\r\n\
//!       Priority: 1\r\nAsync: true\r\nVariable: CAMPAIGN=7\r\nVariable: LEAD=42\r\n\r\n"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::ser::{self, Impossible, Serialize};

use crate::protocol::{Action, ActionError};

/// Why a value cannot be written as headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The value is not a struct or a map of fields.
    #[error("only a struct or a map can be written as headers, not {kind}")]
    NotFields {
        /// What it was.
        kind: &'static str,
    },
    /// A field's value has no header form (a nested struct, a sequence of
    /// sequences).
    #[error("field {field}: {kind} cannot be a header value")]
    Unsupported {
        /// The field.
        field: String,
        /// What it was.
        kind: &'static str,
    },
    /// The action builder refused a header (CR, LF or NUL in a value, a bad
    /// key, a line too long, too many headers).
    #[error(transparent)]
    Action(#[from] ActionError),
    /// The type's own `Serialize` failed.
    #[error("{0}")]
    Custom(String),
}

impl ser::Error for WriteError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::Custom(message.to_string())
    }
}

/// An AMI action named `name` with `value`'s fields as its headers.
///
/// # Errors
/// [`WriteError`] when `value` is not a struct or map of writable values,
/// or the action builder refuses a header or the name.
pub fn to_action<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<Action, WriteError> {
    let mut builder = Action::builder(name);
    for (key, value) in to_headers(value)? {
        builder = builder.header(&key, value);
    }
    Ok(builder.build()?)
}

/// An event's wire bytes: `Event: {name}`, `value`'s fields, the blank
/// line. Checked as an action's headers are, so the bytes are one frame.
///
/// # Errors
/// As [`to_action`].
pub fn to_event_bytes<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<Vec<u8>, WriteError> {
    let headers = to_headers(value)?;
    // An action's checks on the name and each header, but an event may
    // carry an `ActionID` (list items, `OriginateResponse`).
    Action::new(name)?;
    for (key, value) in &headers {
        check_event_header(key, value)?;
    }
    let mut wire = Vec::with_capacity(
        64 + headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>(),
    );
    wire.extend_from_slice(b"Event: ");
    wire.extend_from_slice(name.as_bytes());
    wire.extend_from_slice(b"\r\n");
    for (key, value) in headers {
        wire.extend_from_slice(key.as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(&value);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"\r\n");
    Ok(wire)
}

/// A header an event may carry: a printable ASCII key without a colon,
/// a value without CR, LF or NUL.
fn check_event_header(key: &str, value: &[u8]) -> Result<(), ActionError> {
    let key_ok = !key.is_empty()
        && !key.starts_with(' ')
        && key
            .bytes()
            .all(|byte| (b' '..=b'~').contains(&byte) && byte != b':');
    if !key_ok {
        return Err(ActionError::InvalidKey {
            key: key.escape_debug().to_string(),
        });
    }
    match value
        .iter()
        .find(|&&byte| matches!(byte, b'\r' | b'\n' | 0))
    {
        Some(&byte) => Err(ActionError::ForbiddenByte {
            key: key.to_owned(),
            byte,
        }),
        None => Ok(()),
    }
}

/// `value`'s fields as `(key, value)` headers, in order, unchecked.
///
/// # Errors
/// [`WriteError::NotFields`] or [`WriteError::Unsupported`].
pub fn to_headers<T: Serialize + ?Sized>(value: &T) -> Result<Vec<(String, Vec<u8>)>, WriteError> {
    let mut headers = Headers {
        headers: Vec::new(),
        key: None,
    };
    value.serialize(&mut headers)?;
    Ok(headers.headers)
}

/// The top level: a struct or map whose entries become headers.
struct Headers {
    headers: Vec<(String, Vec<u8>)>,
    /// A map's key waiting for its value.
    key: Option<String>,
}

impl Headers {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), WriteError> {
        for text in value.serialize(FieldValues { field: key })? {
            self.headers.push((key.to_owned(), text));
        }
        Ok(())
    }
}

/// Refuses the top-level kinds that are not fields.
macro_rules! not_fields {
    ($($method:ident($($arg:ty),*) $kind:literal;)*) => {
        $(
            fn $method(self, $(_: $arg),*) -> Result<Self::Ok, WriteError> {
                Err(WriteError::NotFields { kind: $kind })
            }
        )*
    };
}

impl ser::Serializer for &mut Headers {
    type Ok = ();
    type Error = WriteError;
    type SerializeSeq = Impossible<(), WriteError>;
    type SerializeTuple = Impossible<(), WriteError>;
    type SerializeTupleStruct = Impossible<(), WriteError>;
    type SerializeTupleVariant = Impossible<(), WriteError>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), WriteError>;

    not_fields! {
        serialize_bool(bool) "a boolean";
        serialize_i8(i8) "a number";
        serialize_i16(i16) "a number";
        serialize_i32(i32) "a number";
        serialize_i64(i64) "a number";
        serialize_u8(u8) "a number";
        serialize_u16(u16) "a number";
        serialize_u32(u32) "a number";
        serialize_u64(u64) "a number";
        serialize_f32(f32) "a number";
        serialize_f64(f64) "a number";
        serialize_char(char) "a character";
        serialize_str(&str) "a string";
        serialize_bytes(&[u8]) "bytes";
        serialize_none() "nothing";
        serialize_unit_variant(&'static str, u32, &'static str) "an enum variant";
    }

    /// A unit struct (`struct Ping;`) has no headers.
    fn serialize_unit(self) -> Result<(), WriteError> {
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), WriteError> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), WriteError> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), WriteError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), WriteError> {
        Err(WriteError::NotFields {
            kind: "an enum variant",
        })
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, WriteError> {
        Err(WriteError::NotFields { kind: "a sequence" })
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, WriteError> {
        Err(WriteError::NotFields { kind: "a tuple" })
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, WriteError> {
        Err(WriteError::NotFields { kind: "a tuple" })
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, WriteError> {
        Err(WriteError::NotFields {
            kind: "an enum variant",
        })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self, WriteError> {
        Ok(self)
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, WriteError> {
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, WriteError> {
        Err(WriteError::NotFields {
            kind: "an enum variant",
        })
    }
}

impl ser::SerializeStruct for &mut Headers {
    type Ok = ();
    type Error = WriteError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), WriteError> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), WriteError> {
        Ok(())
    }
}

impl ser::SerializeMap for &mut Headers {
    type Ok = ();
    type Error = WriteError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), WriteError> {
        let text = one(
            key.serialize(FieldValues { field: "a map key" })?,
            "a map key",
        )?;
        self.key = Some(
            String::from_utf8(text).map_err(|_| WriteError::Unsupported {
                field: "a map key".to_owned(),
                kind: "a key that is not UTF-8",
            })?,
        );
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WriteError> {
        let key = self.key.take().unwrap_or_default();
        self.field(&key, value)
    }

    fn end(self) -> Result<(), WriteError> {
        Ok(())
    }
}

/// Exactly one text, or why not.
fn one(mut texts: Vec<Vec<u8>>, field: &str) -> Result<Vec<u8>, WriteError> {
    match texts.len() {
        1 => Ok(texts.remove(0)),
        _ => Err(WriteError::Unsupported {
            field: field.to_owned(),
            kind: "a value that is not one text",
        }),
    }
}

/// One field's value as the texts of its header lines: none (`None`),
/// one, or one per element or map entry.
#[derive(Clone, Copy)]
struct FieldValues<'f> {
    field: &'f str,
}

impl FieldValues<'_> {
    fn unsupported(self, kind: &'static str) -> WriteError {
        WriteError::Unsupported {
            field: self.field.to_owned(),
            kind,
        }
    }

    fn scalar<T: Serialize + ?Sized>(self, value: &T) -> Result<Option<Vec<u8>>, WriteError> {
        let mut texts = value.serialize(Scalar { field: self })?;
        Ok(texts.pop())
    }
}

/// A number or other `Display` value as text.
fn text(value: impl fmt::Display) -> Vec<Vec<u8>> {
    vec![value.to_string().into_bytes()]
}

/// The scalar methods every value serializer here shares.
macro_rules! scalars {
    () => {
        fn serialize_bool(self, value: bool) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_i8(self, value: i8) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_i16(self, value: i16) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_i32(self, value: i32) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_i64(self, value: i64) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_i128(self, value: i128) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_u8(self, value: u8) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_u16(self, value: u16) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_u32(self, value: u32) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_u64(self, value: u64) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_u128(self, value: u128) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_f32(self, value: f32) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_f64(self, value: f64) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_char(self, value: char) -> Result<Self::Ok, WriteError> {
            Ok(text(value))
        }
        fn serialize_str(self, value: &str) -> Result<Self::Ok, WriteError> {
            Ok(vec![value.as_bytes().to_vec()])
        }
        fn serialize_bytes(self, value: &[u8]) -> Result<Self::Ok, WriteError> {
            Ok(vec![value.to_vec()])
        }
        fn serialize_none(self) -> Result<Self::Ok, WriteError> {
            Ok(Vec::new())
        }
        fn serialize_unit(self) -> Result<Self::Ok, WriteError> {
            Ok(Vec::new())
        }
        fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok, WriteError> {
            Ok(Vec::new())
        }
        fn serialize_unit_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
        ) -> Result<Self::Ok, WriteError> {
            Ok(vec![variant.as_bytes().to_vec()])
        }
        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, WriteError> {
            value.serialize(self)
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _name: &'static str,
            value: &T,
        ) -> Result<Self::Ok, WriteError> {
            value.serialize(self)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _value: &T,
        ) -> Result<Self::Ok, WriteError> {
            Err(self.field().unsupported("an enum variant with data"))
        }
        fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, WriteError> {
            Err(self.field().unsupported("a tuple"))
        }
        fn serialize_tuple_struct(
            self,
            _name: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleStruct, WriteError> {
            Err(self.field().unsupported("a tuple"))
        }
        fn serialize_tuple_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleVariant, WriteError> {
            Err(self.field().unsupported("an enum variant with data"))
        }
        fn serialize_struct(
            self,
            _name: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStruct, WriteError> {
            Err(self.field().unsupported("a nested struct"))
        }
        fn serialize_struct_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStructVariant, WriteError> {
            Err(self.field().unsupported("an enum variant with data"))
        }
    };
}

impl<'f> ser::Serializer for FieldValues<'f> {
    type Ok = Vec<Vec<u8>>;
    type Error = WriteError;
    type SerializeSeq = Elements<'f>;
    type SerializeTuple = Impossible<Vec<Vec<u8>>, WriteError>;
    type SerializeTupleStruct = Impossible<Vec<Vec<u8>>, WriteError>;
    type SerializeTupleVariant = Impossible<Vec<Vec<u8>>, WriteError>;
    type SerializeMap = Assignments<'f>;
    type SerializeStruct = Impossible<Vec<Vec<u8>>, WriteError>;
    type SerializeStructVariant = Impossible<Vec<Vec<u8>>, WriteError>;

    scalars!();

    fn serialize_seq(self, len: Option<usize>) -> Result<Elements<'f>, WriteError> {
        Ok(Elements {
            field: self,
            texts: Vec::with_capacity(len.unwrap_or(0)),
        })
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Assignments<'f>, WriteError> {
        Ok(Assignments {
            field: self,
            texts: Vec::with_capacity(len.unwrap_or(0)),
            name: None,
        })
    }
}

impl FieldValues<'_> {
    const fn field(self) -> Self {
        self
    }
}

/// An element or map entry: one text, no sequence or map in it.
#[derive(Clone, Copy)]
struct Scalar<'f> {
    field: FieldValues<'f>,
}

impl<'f> Scalar<'f> {
    const fn field(self) -> FieldValues<'f> {
        self.field
    }
}

impl ser::Serializer for Scalar<'_> {
    type Ok = Vec<Vec<u8>>;
    type Error = WriteError;
    type SerializeSeq = Impossible<Vec<Vec<u8>>, WriteError>;
    type SerializeTuple = Impossible<Vec<Vec<u8>>, WriteError>;
    type SerializeTupleStruct = Impossible<Vec<Vec<u8>>, WriteError>;
    type SerializeTupleVariant = Impossible<Vec<Vec<u8>>, WriteError>;
    type SerializeMap = Impossible<Vec<Vec<u8>>, WriteError>;
    type SerializeStruct = Impossible<Vec<Vec<u8>>, WriteError>;
    type SerializeStructVariant = Impossible<Vec<Vec<u8>>, WriteError>;

    scalars!();

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, WriteError> {
        Err(self
            .field
            .unsupported("a sequence inside a sequence or map"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, WriteError> {
        Err(self.field.unsupported("a map inside a sequence or map"))
    }
}

/// A sequence: the header once per element.
struct Elements<'f> {
    field: FieldValues<'f>,
    texts: Vec<Vec<u8>>,
}

impl ser::SerializeSeq for Elements<'_> {
    type Ok = Vec<Vec<u8>>;
    type Error = WriteError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WriteError> {
        self.texts.extend(self.field.scalar(value)?);
        Ok(())
    }

    fn end(self) -> Result<Vec<Vec<u8>>, WriteError> {
        Ok(self.texts)
    }
}

/// A map: the header once per entry, as `NAME=value`.
struct Assignments<'f> {
    field: FieldValues<'f>,
    texts: Vec<Vec<u8>>,
    name: Option<Vec<u8>>,
}

impl ser::SerializeMap for Assignments<'_> {
    type Ok = Vec<Vec<u8>>;
    type Error = WriteError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), WriteError> {
        self.name = Some(
            self.field
                .scalar(key)?
                .ok_or_else(|| self.field.unsupported("a map key that is nothing"))?,
        );
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WriteError> {
        let mut assignment = self.name.take().unwrap_or_default();
        assignment.push(b'=');
        // `None` is an empty value: the variable is set to nothing.
        assignment.extend(self.field.scalar(value)?.unwrap_or_default());
        self.texts.push(assignment);
        Ok(())
    }

    fn end(self) -> Result<Vec<Vec<u8>>, WriteError> {
        Ok(self.texts)
    }
}
