//! [`Value`]: a header value as the peer sent it, bytes first.

use std::borrow::Cow;
use std::fmt;

/// A header value exactly as it arrived on the wire, without its line ending.
///
/// AMI values are bytes, not text: caller names arrive in cp1251 or Latin-1 as
/// often as in UTF-8. `Value` keeps every byte and offers text access that never
/// panics: [`Value::to_str`] when the bytes are UTF-8, [`Value::to_string_lossy`]
/// when a best effort is enough.
///
/// ```
/// use apn_ami_core::protocol::Value;
///
/// let cp1251 = Value::new(b"\xcf\xe5\xf2\xf0");
/// assert!(cp1251.to_str().is_err());
/// assert_eq!(cp1251.as_bytes(), b"\xcf\xe5\xf2\xf0");
/// assert_eq!(Value::new(b"Success"), "Success");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value<'a>(&'a [u8]);

impl<'a> Value<'a> {
    /// Wraps raw bytes.
    #[must_use]
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, byte for byte as received.
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The value as text when it is valid UTF-8.
    ///
    /// # Errors
    /// [`std::str::Utf8Error`] when the bytes are not UTF-8 (a cp1251 caller name).
    pub fn to_str(&self) -> Result<&'a str, std::str::Utf8Error> {
        std::str::from_utf8(self.0)
    }

    /// The value as text, with invalid sequences replaced by U+FFFD.
    #[must_use]
    pub fn to_string_lossy(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.0)
    }

    /// Whether the value equals `text` ignoring ASCII case (`EventList: Start`
    /// and `start` both mean a list begins).
    #[must_use]
    pub fn eq_ignore_ascii_case(&self, text: &str) -> bool {
        self.0.eq_ignore_ascii_case(text.as_bytes())
    }

    /// Number of bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty (`Key: \r\n` on the wire).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq<str> for Value<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Value<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<[u8]> for Value<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl fmt::Display for Value<'_> {
    /// Lossy text: invalid UTF-8 shows as U+FFFD.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for Value<'_> {
    /// Escaped bytes, so control and non-UTF-8 bytes stay visible.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}
