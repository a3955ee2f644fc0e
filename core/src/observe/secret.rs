//! [`Secret`]: a credential that never prints.

use std::fmt;

/// What a masked value prints as, everywhere.
pub use crate::protocol::sensitive::MASK;

/// A credential (an AMI secret) held so that `Debug` and `Display` print
/// `********`; only [`Secret::expose`] gives the text, at the one place that
/// needs it (the login).
///
/// ```
/// use apn_ami_core::observe::Secret;
///
/// let secret = Secret::new("hunter2");
/// assert_eq!(format!("{secret} {secret:?}"), "******** ********");
/// assert_eq!(secret.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wraps a credential.
    #[must_use]
    pub fn new(value: &str) -> Self {
        Self(value.into())
    }

    /// The credential itself. Call it only to compute a login.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}
