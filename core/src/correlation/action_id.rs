//! ActionIDs of the form `{server_key}:{instance_id}:{sequence}`.
//!
//! The server key scopes an ID to one server; the instance id, drawn from the
//! client's seed, tells this client instance from an earlier one (IDs from
//! before a restart never match); the sequence never repeats within an
//! instance, across reconnects included.

use std::fmt::{self, Write as _};

/// Longest server key: with the instance id and a 20-digit sequence the
/// ActionID stays within Asterisk's safe 64 bytes.
pub const MAX_SERVER_KEY_LEN: usize = 32;

/// The name of one Asterisk server in this client: 1 to 32 bytes of
/// `[A-Za-z0-9_.-]`, used in ActionIDs, logs and metric labels.
///
/// ```
/// use apn_ami_core::correlation::ServerKey;
///
/// assert!(ServerKey::new("pbx-east.1").is_ok());
/// assert!(ServerKey::new("pbx east").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerKey(Box<str>);

impl ServerKey {
    /// Validates a server key.
    ///
    /// # Errors
    /// [`InvalidServerKey`] when it is empty, longer than
    /// [`MAX_SERVER_KEY_LEN`] or holds a byte outside `[A-Za-z0-9_.-]`.
    pub fn new(key: &str) -> Result<Self, InvalidServerKey> {
        let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-');
        if key.is_empty() || key.len() > MAX_SERVER_KEY_LEN || !key.bytes().all(allowed) {
            return Err(InvalidServerKey {
                key: key.escape_debug().to_string(),
            });
        }
        Ok(Self(key.into()))
    }

    /// The key as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A server key that breaks the rules of [`ServerKey::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid server key {key:?}: 1 to {MAX_SERVER_KEY_LEN} bytes of letters, digits, '_', '.' or '-'"
)]
pub struct InvalidServerKey {
    /// The key, escaped.
    pub key: String,
}

/// Identifies one client instance; drawn from the client's seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstanceId(pub u32);

impl InstanceId {
    /// The instance id a seed gives: the seed through the `SplitMix64`
    /// finaliser, so neighbouring seeds (a restarted process, a simulator
    /// sweep) give unrelated ids, and one seed always gives the same.
    ///
    /// ```
    /// use apn_ami_core::correlation::InstanceId;
    ///
    /// assert_eq!(InstanceId::from_seed(7), InstanceId::from_seed(7));
    /// assert_ne!(InstanceId::from_seed(7), InstanceId::from_seed(8));
    /// ```
    #[must_use]
    pub const fn from_seed(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // The high half: the best-mixed bits of the finaliser.
        Self((z >> 32) as u32)
    }
}

/// Hands out one server's ActionIDs and recognises them in responses.
///
/// ```
/// use apn_ami_core::correlation::{ActionIds, InstanceId, ServerKey};
///
/// let mut ids = ActionIds::new(&ServerKey::new("pbx1")?, InstanceId(0x7f3a));
/// let (sequence, id) = ids.next_id();
/// assert_eq!((sequence, id), (1, "pbx1:00007f3a:1"));
/// assert_eq!(ids.sequence_of(b"pbx1:00007f3a:1"), Some(1));
/// assert_eq!(ids.sequence_of(b"pbx2:00007f3a:1"), None, "another server's");
/// assert_eq!(ids.sequence_of(b"pbx1:00000001:1"), None, "another instance's");
/// # Ok::<(), apn_ami_core::correlation::InvalidServerKey>(())
/// ```
#[derive(Debug, Clone)]
pub struct ActionIds {
    /// `{server_key}:{instance_id}:`
    prefix: String,
    /// The last ID handed out, reused to avoid an allocation per action.
    current: String,
    next: u64,
}

impl ActionIds {
    /// IDs for one server of one client instance, starting at sequence 1.
    #[must_use]
    pub fn new(server: &ServerKey, instance: InstanceId) -> Self {
        let mut prefix = String::with_capacity(server.as_str().len() + 10);
        let _infallible = write!(prefix, "{server}:{:08x}:", instance.0);
        Self {
            current: String::with_capacity(prefix.len() + 20),
            prefix,
            next: 1,
        }
    }

    /// The next sequence number and its ActionID; never repeats.
    pub fn next_id(&mut self) -> (u64, &str) {
        let sequence = self.next;
        self.next += 1;
        (sequence, self.id_of(sequence))
    }

    /// The ActionID of an earlier `sequence` (for an action queued before
    /// login and written later).
    pub fn id_of(&mut self, sequence: u64) -> &str {
        self.current.clear();
        self.current.push_str(&self.prefix);
        let _infallible = write!(self.current, "{sequence}");
        &self.current
    }

    /// The sequence an ActionID carries when it is one of ours, else `None`.
    #[must_use]
    pub fn sequence_of(&self, action_id: &[u8]) -> Option<u64> {
        let digits = action_id.strip_prefix(self.prefix.as_bytes())?;
        if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    }
}
