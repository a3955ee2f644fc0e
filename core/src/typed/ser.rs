//! Frames written through serde, losslessly: a sequence of `[key, value]`
//! pairs in wire order (keys as the frame holds them: ASCII letters
//! lowercased up to a `(`). A key or value that is UTF-8 is a string; one
//! that is not (a cp1251 caller name) is a map `{"hex": "cfe5f2f0"}` of its
//! exact bytes, so nothing is lost and nothing is guessed.
//!
//! ```
//! use apn_ami_core::protocol::{Parser, ParserConfig};
//!
//! let mut parser = Parser::new(ParserConfig::default().expect_banner(false))?;
//! let mut frames = Vec::new();
//! parser.feed(b"Event: Newchannel\r\nCallerIDName: \xcf\xe5\r\n\r\n", |item| {
//!     frames.extend(item.into_frame())
//! })?;
//! assert_eq!(
//!     serde_json::to_string(&frames[0])?,
//!     r#"[["event","Newchannel"],["calleridname",{"hex":"cfe5"}]]"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A legacy Command body (or a headerless answer) is not part of the pairs:
//! it is [`Frame::follows_body`].

use std::fmt::Write as _;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::protocol::Frame;

impl Serialize for Frame {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut pairs = serializer.serialize_seq(Some(self.len()))?;
        for (key, value) in self.raw_headers() {
            pairs.serialize_element(&(Text(key.as_bytes()), Text(value.as_bytes())))?;
        }
        pairs.end()
    }
}

/// Bytes as a string when they are UTF-8, else as `{"hex": "…"}`.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a>(pub &'a [u8]);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Ok(text) = std::str::from_utf8(self.0) {
            return serializer.serialize_str(text);
        }
        let hex = self.0.iter().fold(String::new(), |mut hex, byte| {
            // Writing to a String cannot fail.
            let _infallible = write!(hex, "{byte:02x}");
            hex
        });
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("hex", &hex)?;
        map.end()
    }
}
