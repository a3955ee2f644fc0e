//! [`SessionConfig`]: one server's settings, every bound explicit.

use std::time::Duration;

use super::handshake;
use crate::correlation::{RegistryLimits, ServerKey};
use crate::observe::{Redactor, Secret};
use crate::protocol::{Action, MAX_ACTION_ID_LEN, ParserConfig};

/// Room a memory budget must leave beside the parser's read buffer.
pub const BUDGET_HEADROOM: usize = 64 * 1024;

/// How the session logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Login` with `Secret`: the secret crosses the wire.
    Plain,
    /// `Challenge` with `AuthType: MD5`, then `Login` with
    /// `Key: md5(challenge + secret)` in lowercase hex.
    Md5,
}

/// One server's settings. Build with [`SessionConfig::new`] and adjust the
/// public fields; [`Session::new`](super::Session::new) validates them.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The server's name in ActionIDs, logs and metrics.
    pub server_key: ServerKey,
    /// `host:port`, for logs and metric labels.
    pub server_host: String,
    /// The AMI user.
    pub username: String,
    /// The AMI user's secret.
    pub secret: Secret,
    /// Plain or challenge login.
    pub auth: AuthMethod,
    /// The `Events:` value of the login: `on`, `off`, or a class list such
    /// as `call,system`.
    pub events: String,
    /// Time allowed for the banner after the socket connects.
    pub banner_timeout: Duration,
    /// Time allowed for the whole login exchange.
    pub login_timeout: Duration,
    /// An action's deadline unless it names its own.
    pub action_timeout: Duration,
    /// Time between two heartbeat pings while logged in.
    pub heartbeat_interval: Duration,
    /// Time a ping may go unanswered before it counts as missed.
    pub heartbeat_timeout: Duration,
    /// Consecutive missed pings after which the connection is closed.
    pub heartbeat_max_misses: u32,
    /// Bytes that may wait for the socket; past it the connection is dropped.
    pub max_outbound_bytes: usize,
    /// Events that may wait for the application; past it the oldest go.
    pub event_queue_capacity: usize,
    /// Actions that may wait for the login to finish.
    pub max_queued_before_login: usize,
    /// Pending actions and list caps.
    pub registry: RegistryLimits,
    /// Frame size and resync bounds of the parser.
    pub parser: ParserConfig,
    /// Heap bytes this connection's buffers and queues may hold in all;
    /// past it the connection is closed at once.
    pub memory_budget_bytes: usize,
    /// Time a shutdown waits for pending actions before failing them.
    pub shutdown_grace: Duration,
    /// Log records that may wait to be drained.
    pub log_capacity: usize,
    /// Masks credentials and sensitive channel variables in logs.
    pub redactor: Redactor,
}

impl SessionConfig {
    /// Settings with the defaults: MD5 login, all events, 10 s banner and
    /// login time, 30 s actions, a ping every 15 s answered within 5 s, the
    /// connection closed after 3 missed pings, 1 MiB outbound, 10 000 queued
    /// events, 1 024 actions queued before login, 64 MiB memory budget, 5 s
    /// shutdown grace.
    #[must_use]
    pub fn new(server_key: ServerKey, server_host: &str, username: &str, secret: Secret) -> Self {
        Self {
            server_key,
            server_host: server_host.to_owned(),
            username: username.to_owned(),
            secret,
            auth: AuthMethod::Md5,
            events: "on".to_owned(),
            banner_timeout: Duration::from_secs(10),
            login_timeout: Duration::from_secs(10),
            action_timeout: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(15),
            heartbeat_timeout: Duration::from_secs(5),
            heartbeat_max_misses: 3,
            max_outbound_bytes: 1024 * 1024,
            event_queue_capacity: 10_000,
            max_queued_before_login: 1024,
            registry: RegistryLimits::default(),
            parser: ParserConfig::default(),
            memory_budget_bytes: 64 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(5),
            log_capacity: 1024,
            redactor: Redactor::default(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), SessionConfigError> {
        let positive = [
            ("banner_timeout", self.banner_timeout.is_zero()),
            ("login_timeout", self.login_timeout.is_zero()),
            ("action_timeout", self.action_timeout.is_zero()),
            ("heartbeat_interval", self.heartbeat_interval.is_zero()),
            ("heartbeat_timeout", self.heartbeat_timeout.is_zero()),
            ("heartbeat_max_misses", self.heartbeat_max_misses == 0),
            ("max_outbound_bytes", self.max_outbound_bytes == 0),
            ("event_queue_capacity", self.event_queue_capacity == 0),
            ("max_queued_before_login", self.max_queued_before_login == 0),
            ("registry.max_pending", self.registry.max_pending == 0),
            ("registry.max_list_items", self.registry.max_list_items == 0),
            ("registry.max_list_bytes", self.registry.max_list_bytes == 0),
            ("memory_budget_bytes", self.memory_budget_bytes == 0),
            ("log_capacity", self.log_capacity == 0),
        ];
        if let Some((setting, _)) = positive.iter().find(|(_, zero)| *zero) {
            return Err(SessionConfigError::Zero { setting });
        }
        if self.heartbeat_timeout >= self.heartbeat_interval {
            return Err(SessionConfigError::HeartbeatTimeoutNotBelowInterval);
        }
        if self.username.is_empty() {
            return Err(SessionConfigError::Username);
        }
        self.check_login_fields()?;
        let needed = self.smallest_memory_budget();
        if self.memory_budget_bytes < needed {
            return Err(SessionConfigError::MemoryBudgetBelowParser {
                budget: self.memory_budget_bytes,
                needed,
            });
        }
        Ok(())
    }

    /// The smallest budget a connection can work in: the parser's own read
    /// buffer (2 × `max_frame_size`) and [`BUDGET_HEADROOM`] for a frame's
    /// span table, a few events, log records and completions. Below it,
    /// every connection would close at its banner.
    #[must_use]
    pub const fn smallest_memory_budget(&self) -> usize {
        self.parser.buffer_limit() + BUDGET_HEADROOM
    }

    /// Every value the login writes must be writable on the wire (no CR,
    /// LF or NUL, within Asterisk's line limit), and the login must fit the
    /// outbound bound: otherwise every connection would fail at its login,
    /// over and over.
    fn check_login_fields(&self) -> Result<(), SessionConfigError> {
        let secret = self.secret.expose();
        if secret.ends_with(['\r', '\n']) {
            return Err(SessionConfigError::Unwritable {
                setting: "secret",
                reason: "it ends with a line break (read from a file with a trailing newline?)"
                    .to_owned(),
            });
        }
        let fields = [
            ("username", "Username", self.username.as_str()),
            ("secret", "Secret", secret),
            ("events", "Events", self.events.as_str()),
        ];
        for (setting, key, value) in fields {
            if let Err(error) = Action::builder("Login").header(key, value).build() {
                return Err(SessionConfigError::Unwritable {
                    setting,
                    reason: error.to_string(),
                });
            }
        }
        // The longest login either method writes, with the longest ActionID.
        let plain = handshake::plain_login(self);
        let md5 = handshake::md5_login(self, &[b'0'; 32]);
        let needed = [plain, md5]
            .iter()
            .filter_map(|login| login.as_ref().ok())
            .map(|login| login.encoded_len(Some(MAX_ACTION_ID_LEN)))
            .max()
            .unwrap_or(0);
        if self.max_outbound_bytes < needed {
            return Err(SessionConfigError::OutboundBelowLogin {
                limit: self.max_outbound_bytes,
                needed,
            });
        }
        Ok(())
    }
}

/// A setting the session cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionConfigError {
    /// A bound or a duration is zero.
    #[error("{setting} must be greater than zero")]
    Zero {
        /// Which setting.
        setting: &'static str,
    },
    /// A ping's answer must be due before the next ping.
    #[error("heartbeat_timeout must be shorter than heartbeat_interval")]
    HeartbeatTimeoutNotBelowInterval,
    /// The username is empty.
    #[error("the username is empty")]
    Username,
    /// A login value cannot be written on the wire (CR, LF or NUL, or a
    /// line longer than Asterisk accepts). The reason names no value.
    #[error("{setting} cannot be written on the wire: {reason}")]
    Unwritable {
        /// Which setting: `username`, `secret` or `events`.
        setting: &'static str,
        /// Why.
        reason: String,
    },
    /// The memory budget is smaller than the read buffer the parser may
    /// hold by itself: every connection would close at its banner.
    #[error(
        "memory_budget_bytes {budget} is below the {needed} bytes a connection needs (2 × max_frame_size for the parser, and 64 KiB)"
    )]
    MemoryBudgetBelowParser {
        /// The budget asked for.
        budget: usize,
        /// Twice the parser's largest frame, and [`BUDGET_HEADROOM`].
        needed: usize,
    },
    /// The outbound bound cannot hold the login.
    #[error("max_outbound_bytes {limit} cannot hold the {needed}-byte login")]
    OutboundBelowLogin {
        /// The bound asked for.
        limit: usize,
        /// The login's size with the longest ActionID.
        needed: usize,
    },
    /// The parser's bounds are out of range.
    #[error(transparent)]
    Parser(#[from] crate::protocol::ConfigError),
}
