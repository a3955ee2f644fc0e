//! The login exchange: which actions it sends and how it reads the answers.

use md5::{Digest, Md5};

use super::config::{AuthMethod, SessionConfig};
use crate::protocol::{Action, ActionError, Frame};

/// The first action of the login: `Challenge` for MD5, `Login` for plain.
pub(crate) fn first_action(config: &SessionConfig) -> Result<Action, ActionError> {
    match config.auth {
        AuthMethod::Md5 => Action::builder("Challenge")
            .header("AuthType", "MD5")
            .build(),
        AuthMethod::Plain => plain_login(config),
    }
}

/// The plain `Login`: the secret crosses the wire.
pub(crate) fn plain_login(config: &SessionConfig) -> Result<Action, ActionError> {
    Action::builder("Login")
        .header("Username", &config.username)
        .header("Secret", config.secret.expose())
        .header("Events", &config.events)
        .build()
}

/// The MD5 `Login` answering `challenge`: `Key` is the lowercase hex MD5 of
/// the challenge followed by the secret (uppercase hex is refused by Asterisk).
pub(crate) fn md5_login(config: &SessionConfig, challenge: &[u8]) -> Result<Action, ActionError> {
    let mut digest = Md5::new();
    digest.update(challenge);
    digest.update(config.secret.expose().as_bytes());
    let key: String = digest
        .finalize()
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0xf])
        .map(|nibble| char::from(b"0123456789abcdef"[usize::from(nibble)]))
        .collect();
    Action::builder("Login")
        .header("AuthType", "MD5")
        .header("Username", &config.username)
        .header("Key", key)
        .header("Events", &config.events)
        .build()
}

/// Whether a response reports success (`Response: Success`).
pub(crate) fn succeeded(frame: &Frame) -> bool {
    frame.first_value().eq_ignore_ascii_case("success")
}

/// The response's `Message`, as text for an error report.
pub(crate) fn message(frame: &Frame) -> String {
    frame
        .get("message")
        .map_or_else(|| "no message".to_owned(), |message| message.to_string())
}
