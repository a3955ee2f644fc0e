//! [`Redactor`]: masks sensitive header values before a log record exists.

use std::borrow::Cow;

use super::secret::MASK;

/// Header keys whose values are always masked.
const SENSITIVE_KEYS: [&str; 3] = ["secret", "key", "password"];

/// Masks the values of `Secret`, `Key` and `Password` headers, and of the
/// channel variables named as sensitive in `Variable: NAME=value` and both
/// `ChanVariable` forms.
///
/// ```
/// use apn_ami_core::observe::Redactor;
///
/// let redactor = Redactor::new(["ACCOUNT_PIN"]);
/// assert_eq!(redactor.header("Secret", b"hunter2"), "********");
/// assert_eq!(redactor.header("Variable", b"account_pin=1234"), "account_pin=********");
/// assert_eq!(redactor.header("ChanVariable(PJSIP/1)", b"ACCOUNT_PIN=1"), "ACCOUNT_PIN=********");
/// assert_eq!(redactor.header("Variable", b"QUEUE=sales"), "QUEUE=sales");
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
        if SENSITIVE_KEYS
            .iter()
            .any(|sensitive| key.eq_ignore_ascii_case(sensitive))
        {
            return Cow::Borrowed(MASK);
        }
        let key = key.as_bytes();
        let is_variable = key.eq_ignore_ascii_case(b"variable")
            || key
                .get(..b"chanvariable".len())
                .is_some_and(|head| head.eq_ignore_ascii_case(b"chanvariable"))
                && matches!(key.get(b"chanvariable".len()), None | Some(b'('));
        if is_variable {
            let equals = value.iter().position(|&byte| byte == b'=');
            if let Some(at) = equals.filter(|&at| self.is_sensitive(&value[..at])) {
                let name = String::from_utf8_lossy(&value[..at]);
                return Cow::Owned(format!("{name}={MASK}"));
            }
        }
        String::from_utf8_lossy(value)
    }

    fn is_sensitive(&self, name: &[u8]) -> bool {
        self.sensitive_variables
            .iter()
            .any(|sensitive| sensitive.as_bytes().eq_ignore_ascii_case(name))
    }
}
