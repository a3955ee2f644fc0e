//! [`Redactor`]: masks sensitive header values before a log record exists.

use std::borrow::Cow;

use super::secret::MASK;
use crate::protocol::sensitive::{is_sensitive_key, is_variable_key, mask_assignments};

/// Masks the values of `Secret`, `Key` and `Password` headers, and of
/// variables in `Variable: NAME=value` and every `ChanVariable` form whose
/// name contains `PASSWORD`, `SECRET`, `PIN`, `TOKEN` or `KEY` (any case)
/// or is one of the names the user adds.
///
/// ```
/// use apn_ami_core::observe::Redactor;
///
/// let redactor = Redactor::new(["ACCOUNT_PIN"]);
/// assert_eq!(redactor.header("Secret", b"hunter2"), "********");
/// assert_eq!(redactor.header("Variable", b"account_pin=1234"), "account_pin=********");
/// assert_eq!(redactor.header("ChanVariable(PJSIP/1)", b"ACCOUNT_PIN=1"), "ACCOUNT_PIN=********");
/// assert_eq!(redactor.header("Variable", b"QUEUE=sales"), "QUEUE=sales");
/// assert_eq!(redactor.header("DestChanVariable", b"SIP_PASSWORD=x"), "SIP_PASSWORD=********");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    sensitive_variables: Vec<Box<str>>,
}

impl Redactor {
    /// A redactor that also masks these channel variables (compared ignoring
    /// ASCII case).
    pub fn new<I, S>(sensitive_variables: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            sensitive_variables: sensitive_variables
                .into_iter()
                .map(|name| name.as_ref().into())
                .collect(),
        }
    }

    /// The value of header `key` as a log may show it: masked when
    /// sensitive, otherwise lossy text.
    #[must_use]
    pub fn header<'v>(&self, key: &str, value: &'v [u8]) -> Cow<'v, str> {
        if is_sensitive_key(key) {
            return Cow::Borrowed(MASK);
        }
        if is_variable_key(key)
            && let Some(masked) = mask_assignments(value, |name| self.is_sensitive(name))
        {
            return Cow::Owned(masked);
        }
        String::from_utf8_lossy(value)
    }

    fn is_sensitive(&self, name: &[u8]) -> bool {
        self.sensitive_variables
            .iter()
            .any(|sensitive| sensitive.as_bytes().eq_ignore_ascii_case(name))
    }
}
