//! Which header values are secrets, by default: the one rule every `Debug`
//! and every log record follows (the observe layer's `Redactor` adds the
//! names a user configures).

/// Header keys whose values are always masked.
pub const SENSITIVE_KEYS: [&str; 3] = ["secret", "key", "password"];

/// A variable whose name contains one of these (ignoring ASCII case) is
/// masked: `DB_PASSWORD`, `ApiToken`, `VOICEMAIL_PIN`, `AWS_SECRET`,
/// `LICENSE_KEY`.
pub const SENSITIVE_NAME_PARTS: [&str; 5] = ["password", "secret", "pin", "token", "key"];

/// What a log or a `Debug` shows instead of a secret.
pub const MASK: &str = "********";

/// Whether `key`'s value is always a secret (`Secret`, `Key`, `Password`).
#[must_use]
pub fn is_sensitive_key(key: &str) -> bool {
    SENSITIVE_KEYS
        .iter()
        .any(|sensitive| key.eq_ignore_ascii_case(sensitive))
}

/// Whether `key` carries variable assignments (`NAME=value`): `Variable`,
/// `ChanVariable`, `ChanVariable(<channel>)` and the prefixed forms such as
/// `DestChanVariable`.
#[must_use]
pub fn is_variable_key(key: &str) -> bool {
    let name = key.split_once('(').map_or(key, |(name, _)| name).as_bytes();
    let ends_with = |suffix: &[u8]| {
        name.len() >= suffix.len() && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    name.eq_ignore_ascii_case(b"variable") || ends_with(b"chanvariable")
}

/// Whether a variable name looks like a secret by default.
#[must_use]
pub fn is_sensitive_name(name: &[u8]) -> bool {
    SENSITIVE_NAME_PARTS.iter().any(|part| {
        name.windows(part.len())
            .any(|window| window.eq_ignore_ascii_case(part.as_bytes()))
    })
}

/// The value of a variable header with the value of the first sensitive
/// assignment, and everything after it, masked: `A=1,DB_PASSWORD=x,B=2`
/// shows as `A=1,DB_PASSWORD=********` (a secret may hold a comma, so
/// nothing after it is shown). `None` when no assignment is sensitive by
/// default or by `also`.
#[must_use]
pub fn mask_assignments(value: &[u8], also: impl Fn(&[u8]) -> bool) -> Option<String> {
    let mut start = 0;
    for segment in value.split(|&byte| byte == b',') {
        if let Some(equals) = segment.iter().position(|&byte| byte == b'=') {
            let name = &segment[..equals];
            if is_sensitive_name(name) || also(name) {
                let shown = String::from_utf8_lossy(&value[..=start + equals]);
                return Some(format!("{shown}{MASK}"));
            }
        }
        start += segment.len() + 1;
    }
    None
}
