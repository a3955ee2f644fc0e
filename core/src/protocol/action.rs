//! [`Action`]: what a client sends, validated at build time and encoded
//! without a chance of header injection.

use std::fmt;

use memchr::memchr;

use super::value::Value;

/// Longest line Asterisk accepts, without its CRLF (`manager.c`: 1024-byte
/// buffer including CRLF).
pub const MAX_LINE_LEN: usize = 1022;
/// Most lines Asterisk accepts in one action, `Action:` and `ActionID:` included.
pub const MAX_LINES: usize = 128;
/// Most headers an [`Action`] may carry besides `Action:` and `ActionID:`.
pub const MAX_HEADERS: usize = MAX_LINES - 2;
/// Longest ActionID the writer accepts: Asterisk truncates longer ones in
/// several handlers.
pub const MAX_ACTION_ID_LEN: usize = 64;

use super::sensitive::{MASK, is_sensitive_key, is_variable_key, mask_assignments};

/// An AMI action: a name and ordered headers, immutable once built.
///
/// Repeated keys are kept in order (`Variable` several times). `Action` and
/// `ActionID` are not headers of the value: the name is given to the builder
/// and the ActionID is assigned when the action is encoded for one server.
///
/// ```
/// use apn_ami_core::protocol::Action;
///
/// let originate = Action::builder("Originate")
///     .header("Channel", "PJSIP/100")
///     .header("Exten", "200")
///     .variable("CALLERID(name)", "Reception")
///     .variable("ACCOUNT", "42")
///     .build()?;
/// let mut wire = Vec::new();
/// originate.encode(Some("pbx1:7f3a:1"), &mut wire)?;
/// assert_eq!(
///     wire,
///     b"Action: Originate\r\nActionID: pbx1:7f3a:1\r\nChannel: PJSIP/100\r\nExten: 200\r\n\
///       Variable: CALLERID(name)=Reception\r\nVariable: ACCOUNT=42\r\n\r\n"
/// );
///
/// let injected = Action::builder("Command").header("Command", "core show version\r\nAction: Logoff").build();
/// assert!(injected.is_err());
/// # Ok::<(), apn_ami_core::protocol::ActionError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Action {
    name: Box<str>,
    /// The header lines, each `Key: value\r\n`, validated.
    wire: Box<[u8]>,
}

impl Action {
    /// Starts building an action called `name` (`Ping`, `Originate`, …).
    #[must_use]
    pub fn builder(name: &str) -> ActionBuilder {
        ActionBuilder::new(name)
    }

    /// An action with no headers, such as `Ping` or `CoreSettings`.
    ///
    /// # Errors
    /// [`ActionError::InvalidName`] when `name` is not a printable ASCII word.
    pub fn new(name: &str) -> Result<Self, ActionError> {
        Self::builder(name).build()
    }

    /// A header-less action with a fixed, known-valid name (`Ping`,
    /// `Logoff`), for the client's own use.
    pub(crate) fn builtin(name: &'static str) -> Self {
        debug_assert!(Self::new(name).is_ok(), "{name} is a valid action name");
        Self {
            name: name.into(),
            wire: Box::new([]),
        }
    }

    /// The action's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Headers in order, keys as given.
    pub fn headers(&self) -> impl Iterator<Item = (&str, Value<'_>)> + '_ {
        self.wire
            .split(|&byte| byte == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                let line = &line[..line.len() - 1];
                let colon = memchr(b':', line).unwrap_or(0);
                // Keys were validated as printable ASCII at build time.
                let key = std::str::from_utf8(&line[..colon]).unwrap_or_default();
                (key, Value::new(&line[(colon + 2).min(line.len())..]))
            })
    }

    /// The first value of `key`, ignoring ASCII case.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<Value<'_>> {
        self.headers()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    }

    /// Bytes [`Action::encode`] writes with an ActionID of `action_id_len` bytes.
    #[must_use]
    pub fn encoded_len(&self, action_id_len: Option<usize>) -> usize {
        let id_line = action_id_len.map_or(0, |len| b"ActionID: \r\n".len() + len);
        b"Action: \r\n".len() + self.name.len() + id_line + self.wire.len() + 2
    }

    /// Appends the action's wire form to `out`: `Action:`, then `ActionID:`
    /// when given, then the headers, then the blank line.
    ///
    /// # Errors
    /// [`ActionError::InvalidActionId`] when the ActionID is empty, longer than
    /// [`MAX_ACTION_ID_LEN`] or not printable ASCII; `out` is left unchanged.
    pub fn encode(&self, action_id: Option<&str>, out: &mut Vec<u8>) -> Result<(), ActionError> {
        if let Some(id) = action_id {
            let printable = id.bytes().all(|byte| byte.is_ascii_graphic());
            if id.is_empty() || id.len() > MAX_ACTION_ID_LEN || !printable {
                return Err(ActionError::InvalidActionId {
                    action_id: id.escape_debug().to_string(),
                });
            }
        }
        self.write_to(action_id, out);
        Ok(())
    }

    /// [`Action::encode`] for an ActionID known to be valid (the client's
    /// own, from `correlation::ActionIds`).
    pub(crate) fn write_to(&self, action_id: Option<&str>, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len(action_id.map(str::len)));
        out.extend_from_slice(b"Action: ");
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(id) = action_id {
            out.extend_from_slice(b"ActionID: ");
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&self.wire);
        out.extend_from_slice(b"\r\n");
    }
}

impl fmt::Debug for Action {
    /// Values of `Secret`, `Key` and `Password`, and of variables whose
    /// name looks secret (`…PASSWORD…`, `…TOKEN…`, …), print as `********`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Action")
            .field("name", &self.name)
            .field("headers", &MaskedHeaders(self))
            .finish_non_exhaustive()
    }
}

/// Debug helper listing an action's headers with sensitive values masked.
struct MaskedHeaders<'a>(&'a Action);

impl fmt::Debug for MaskedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (key, value) in self.0.headers() {
            if is_sensitive_key(key) {
                list.entry(&(key, MASK));
            } else if let Some(masked) = is_variable_key(key)
                .then(|| mask_assignments(value.as_bytes(), |_| false))
                .flatten()
            {
                list.entry(&(key, masked));
            } else {
                list.entry(&(key, value));
            }
        }
        list.finish()
    }
}

/// Builds an [`Action`]; the first invalid input is reported by
/// [`ActionBuilder::build`], so calls chain without `?` at every step.
#[derive(Clone)]
pub struct ActionBuilder {
    name: String,
    wire: Vec<u8>,
    headers: usize,
    error: Option<ActionError>,
}

impl ActionBuilder {
    fn new(name: &str) -> Self {
        let valid = !name.is_empty()
            && name.len() <= MAX_LINE_LEN - b"Action: ".len()
            && name.bytes().all(|byte| byte.is_ascii_graphic());
        Self {
            name: name.to_owned(),
            wire: Vec::new(),
            headers: 0,
            error: (!valid).then(|| ActionError::InvalidName {
                name: name.escape_debug().to_string(),
            }),
        }
    }

    /// Appends `key: value`. Keys may repeat.
    #[must_use]
    pub fn header(mut self, key: &str, value: impl AsRef<[u8]>) -> Self {
        if self.error.is_none() {
            self.error = self.append(key, &[value.as_ref()]).err();
        }
        self
    }

    /// Appends `Variable: name=value` (channel variables for `Originate`).
    #[must_use]
    pub fn variable(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        if self.error.is_none() {
            let valid = !name.is_empty() && !name.contains(['=', '\r', '\n', '\0']);
            self.error = if valid {
                self.append("Variable", &[name.as_bytes(), b"=", value.as_ref()])
                    .err()
            } else {
                Some(ActionError::InvalidVariableName {
                    name: name.escape_debug().to_string(),
                })
            };
        }
        self
    }

    fn append(&mut self, key: &str, value_parts: &[&[u8]]) -> Result<(), ActionError> {
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
        if key.eq_ignore_ascii_case("action") || key.eq_ignore_ascii_case("actionid") {
            return Err(ActionError::ReservedKey {
                key: key.to_owned(),
            });
        }
        for part in value_parts {
            if let Some(&byte) = part.iter().find(|&&byte| matches!(byte, b'\r' | b'\n' | 0)) {
                return Err(ActionError::ForbiddenByte {
                    key: key.to_owned(),
                    byte,
                });
            }
        }
        let value_len: usize = value_parts.iter().map(|part| part.len()).sum();
        let length = key.len() + 2 + value_len;
        if length > MAX_LINE_LEN {
            return Err(ActionError::LineTooLong {
                key: key.to_owned(),
                length,
            });
        }
        if self.headers == MAX_HEADERS {
            return Err(ActionError::TooManyHeaders);
        }
        self.headers += 1;
        self.wire.extend_from_slice(key.as_bytes());
        self.wire.extend_from_slice(b": ");
        for part in value_parts {
            self.wire.extend_from_slice(part);
        }
        self.wire.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// The action, or the first invalid input given to the builder.
    ///
    /// # Errors
    /// The first [`ActionError`] met while building.
    pub fn build(self) -> Result<Action, ActionError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(Action {
                name: self.name.into_boxed_str(),
                wire: self.wire.into_boxed_slice(),
            }),
        }
    }
}

/// Why an action cannot be built or encoded. Messages name keys, never values
/// (a value may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The action name is empty, too long, or not printable ASCII without spaces.
    #[error("invalid action name {name:?}")]
    InvalidName {
        /// The name, escaped.
        name: String,
    },
    /// The key is empty, starts with a space, or holds a colon or a byte that
    /// is not printable ASCII.
    #[error("invalid header key {key:?}")]
    InvalidKey {
        /// The key, escaped.
        key: String,
    },
    /// `Action` and `ActionID` are set by the client, not as headers.
    #[error("header key {key:?} is reserved: the name and the ActionID are set by the client")]
    ReservedKey {
        /// The key.
        key: String,
    },
    /// A value holds CR, LF or NUL: header injection.
    #[error("the value of {key:?} holds byte {byte:#04x} (CR, LF and NUL would inject headers)")]
    ForbiddenByte {
        /// The key whose value was rejected.
        key: String,
        /// The offending byte.
        byte: u8,
    },
    /// A `Variable` name is empty or holds `=`, CR, LF or NUL.
    #[error("invalid variable name {name:?}")]
    InvalidVariableName {
        /// The name, escaped.
        name: String,
    },
    /// The header line is longer than Asterisk accepts.
    #[error("the {key:?} line is {length} bytes; Asterisk accepts at most {MAX_LINE_LEN}")]
    LineTooLong {
        /// The key of the line.
        key: String,
        /// The line's length without CRLF.
        length: usize,
    },
    /// More headers than Asterisk accepts in one action.
    #[error("more than {MAX_HEADERS} headers; Asterisk accepts at most {MAX_LINES} lines")]
    TooManyHeaders,
    /// The ActionID is empty, too long or not printable ASCII.
    #[error("invalid ActionID {action_id:?}: 1 to {MAX_ACTION_ID_LEN} printable ASCII bytes")]
    InvalidActionId {
        /// The ActionID, escaped.
        action_id: String,
    },
}
