//! [`ClientConfig`]: the client's settings, built in code or read from TOML.
//!
//! ```toml
//! seed = 7                       # optional; OS entropy by default
//! routing = "round-robin"        # or "sticky", or { failover = ["pbx-a", "pbx-b"] }
//!
//! [session]                      # every field optional; these apply to all servers
//! action_timeout = "10s"
//! heartbeat_interval = "15s"
//!
//! [[servers]]
//! key = "pbx-a"
//! host = "10.0.0.5"
//! port = 5038
//! username = "apn"
//! secret_env = "PBX_A_SECRET"    # the secret itself never goes in a file
//! auth = "md5"                   # or "plain"
//! tls = { ca_file = "/etc/apn/ca.pem", server_name = "pbx-a.example" }
//! ```
//!
//! Unknown fields are errors; every error names the field and the server;
//! no credential has a default, and secrets never appear in `Debug`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use apn_ami_core::cluster::ClusterConfigError;
use apn_ami_core::cluster::{ClusterConfig, Routing, ServerConfig};
use apn_ami_core::connection::{AuthMethod, Session, SessionConfig, SessionConfigError};
use apn_ami_core::correlation::{InstanceId, ServerKey};
use apn_ami_core::health::{Backoff, BreakerConfig};
use apn_ami_core::observe::Secret;
use serde::Deserialize;

/// The whole client: its servers and how they are driven.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The Asterisk servers.
    pub servers: Vec<ServerSettings>,
    /// How actions without an explicit server pick one.
    #[serde(default)]
    pub routing: RoutingSetting,
    /// Session settings shared by every server.
    #[serde(default)]
    pub session: SessionSettings,
    /// Reconnect backoff and circuit breaker.
    #[serde(default)]
    pub reconnect: ReconnectSettings,
    /// The core's seed (reconnect jitter, ActionID instance); OS entropy
    /// when absent. Logged at start, so a run can be replayed in the
    /// simulator.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Heap bytes all servers' buffers may hold together before the client
    /// shuts down at once (512 MiB by default).
    #[serde(default)]
    pub memory_budget_bytes: Option<usize>,
    /// Actions that may wait in the client for a server to become eligible
    /// (4 096 by default); past it, `send` is refused at once.
    #[serde(default)]
    pub max_waiting_actions: Option<usize>,
    /// Events the driver may hand to the application in one batch (1 024 by
    /// default); past it, events wait in the core's bounded queues.
    #[serde(default)]
    pub event_batch: Option<usize>,
    /// Actions the application may have on their way to the driver before
    /// `send` waits (4 096 by default).
    #[serde(default)]
    pub command_queue: Option<usize>,
    /// Time a connect (with its TLS handshake) may take (10 s by default).
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
}

/// How a server's connections are opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoutingSetting {
    /// Each healthy server in turn.
    #[default]
    RoundRobin,
    /// The same key on the same server.
    Sticky,
    /// The first healthy server in this order of keys.
    Failover(Vec<String>),
}

/// Plain or challenge login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// `Challenge`/MD5: the secret never crosses the wire.
    #[default]
    Md5,
    /// `Login` with `Secret`.
    Plain,
}

/// AMI over TLS (Asterisk's `tlsenable`, port 5039 by convention).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// A PEM file of CA certificates to trust instead of the system's
    /// (web PKI) roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The name the server's certificate must carry, when it is not `host`.
    #[serde(default)]
    pub server_name: Option<String>,
}

/// One Asterisk server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// The server's name in ActionIDs, logs and metrics (`[A-Za-z0-9_.-]`).
    pub key: String,
    /// Host name or address.
    pub host: String,
    /// Port (5038 by default).
    #[serde(default = "default_port")]
    pub port: u16,
    /// The AMI user (`manager.conf`).
    pub username: String,
    /// The environment variable that holds the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The secret given in code; never read from a file.
    #[serde(skip)]
    pub secret: Option<Secret>,
    /// Plain or MD5 login.
    #[serde(default)]
    pub auth: Auth,
    /// The login's `Events:` value: `on`, `off`, or classes such as
    /// `call,system`.
    #[serde(default = "default_events")]
    pub events: String,
    /// TLS, when the server speaks AMI over TLS.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
}

const fn default_port() -> u16 {
    5038
}

fn default_events() -> String {
    "on".to_owned()
}

impl ServerSettings {
    /// A server at `host:port` for `username`, with the secret given in
    /// code, MD5 login, all events, no TLS.
    #[must_use]
    pub fn new(key: &str, host: &str, port: u16, username: &str, secret: Secret) -> Self {
        Self {
            key: key.to_owned(),
            host: host.to_owned(),
            port,
            username: username.to_owned(),
            secret_env: None,
            secret: Some(secret),
            auth: Auth::Md5,
            events: default_events(),
            tls: None,
        }
    }

    /// `host:port`, with brackets around an IPv6 address.
    #[must_use]
    pub fn address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Session settings; an absent field keeps the core's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // each field is the SessionConfig field of the same name
pub struct SessionSettings {
    #[serde(default, with = "humantime_serde")]
    pub banner_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub login_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub action_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub heartbeat_interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub heartbeat_timeout: Option<Duration>,
    #[serde(default)]
    pub heartbeat_max_misses: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub shutdown_grace: Option<Duration>,
    #[serde(default)]
    pub max_outbound_bytes: Option<usize>,
    #[serde(default)]
    pub event_queue_capacity: Option<usize>,
    #[serde(default)]
    pub max_queued_before_login: Option<usize>,
    #[serde(default)]
    pub max_pending: Option<usize>,
    #[serde(default)]
    pub max_list_items: Option<usize>,
    #[serde(default)]
    pub max_list_bytes: Option<usize>,
    #[serde(default)]
    pub memory_budget_bytes: Option<usize>,
}

/// Reconnect settings; an absent field keeps the core's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconnectSettings {
    /// First delay (at least 100 ms).
    #[serde(default, with = "humantime_serde")]
    pub backoff_base: Option<Duration>,
    /// Longest delay.
    #[serde(default, with = "humantime_serde")]
    pub backoff_cap: Option<Duration>,
    /// Growth per attempt.
    #[serde(default)]
    pub backoff_factor: Option<u32>,
    /// Consecutive failures that open the breaker.
    #[serde(default)]
    pub breaker_failures: Option<u32>,
    /// How long an open breaker waits before one probe.
    #[serde(default, with = "humantime_serde")]
    pub breaker_cooldown: Option<Duration>,
    /// The longest cool-down after failed probes.
    #[serde(default, with = "humantime_serde")]
    pub breaker_max_cooldown: Option<Duration>,
}

/// A configuration that cannot work; it names the server and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The TOML is malformed, has an unknown field or a wrong type (the
    /// message names the field and the line).
    #[error("{0}")]
    Parse(String),
    /// A field's value cannot work.
    #[error("{}field `{field}`: {reason}", server.as_ref().map(|key| format!("server `{key}`: ")).unwrap_or_default())]
    Invalid {
        /// The server's key, for a server's field.
        server: Option<String>,
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl ConfigError {
    fn invalid(server: Option<&str>, field: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            server: server.map(str::to_owned),
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// What [`ClientConfig::resolve`] makes: the core's configuration and the
/// runtime's part.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The core's cluster configuration.
    pub cluster: ClusterConfig,
    /// The seed, given or drawn.
    pub seed: u64,
    /// Each server's TLS settings, in order.
    pub tls: Vec<Option<TlsSettings>>,
    /// Events handed over in one batch.
    pub event_batch: usize,
    /// The command channel's capacity.
    pub command_queue: usize,
    /// Time a connect may take.
    pub connect_timeout: Duration,
}

impl ClientConfig {
    /// A configuration of these servers with every default.
    #[must_use]
    pub fn new(servers: Vec<ServerSettings>) -> Self {
        Self {
            servers,
            routing: RoutingSetting::default(),
            session: SessionSettings::default(),
            reconnect: ReconnectSettings::default(),
            seed: None,
            memory_budget_bytes: None,
            max_waiting_actions: None,
            event_batch: None,
            command_queue: None,
            connect_timeout: None,
        }
    }

    /// Parses TOML text.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] naming the field and line.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|error| ConfigError::Parse(error.to_string()))
    }

    /// Reads and parses a TOML file.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`].
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        Self::from_toml(&text)
    }

    /// Checks everything and builds the core's configuration: secrets are
    /// read from their environment variables here.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the server and field.
    pub fn resolve(&self) -> Result<Resolved, ConfigError> {
        if self.servers.is_empty() {
            return Err(ConfigError::invalid(
                None,
                "servers",
                "at least one server is needed",
            ));
        }
        for (index, server) in self.servers.iter().enumerate() {
            if self.servers[..index]
                .iter()
                .any(|other| other.key == server.key)
            {
                return Err(ConfigError::invalid(
                    Some(&server.key),
                    "key",
                    "is used by two servers",
                ));
            }
        }
        let servers = self
            .servers
            .iter()
            .map(|server| self.server_config(server))
            .collect::<Result<Vec<_>, _>>()?;
        let mut cluster = ClusterConfig::new(servers);
        cluster.routing = self.routing()?;
        let (backoff, breaker) = self.reconnect.apply(cluster.backoff, cluster.breaker);
        if !backoff.is_valid() {
            return Err(ConfigError::invalid(
                None,
                "reconnect.backoff_base",
                "backoff needs backoff_base >= 100ms, backoff_cap >= backoff_base and backoff_factor >= 1",
            ));
        }
        if breaker.failure_threshold == 0 {
            return Err(ConfigError::invalid(
                None,
                "reconnect.breaker_failures",
                "must be greater than zero",
            ));
        }
        cluster.backoff = backoff;
        cluster.breaker = breaker;
        if let Some(budget) = self.memory_budget_bytes {
            positive(None, "memory_budget_bytes", budget)?;
            cluster.memory_budget_bytes = budget;
        }
        if let Some(waiting) = self.max_waiting_actions {
            positive(None, "max_waiting_actions", waiting)?;
            cluster.max_waiting_actions = waiting;
        }
        // Whatever the checks above do not catch, the core's own check does.
        cluster.validate().map_err(|error| {
            ConfigError::invalid(None, cluster_field(&error), error.to_string())
        })?;
        let event_batch = self.event_batch.unwrap_or(1024);
        positive(None, "event_batch", event_batch)?;
        let command_queue = self.command_queue.unwrap_or(4096);
        positive(None, "command_queue", command_queue)?;
        let connect_timeout = self.connect_timeout.unwrap_or(Duration::from_secs(10));
        if connect_timeout.is_zero() {
            return Err(ConfigError::invalid(
                None,
                "connect_timeout",
                "must be greater than zero",
            ));
        }
        Ok(Resolved {
            connect_timeout,
            cluster,
            seed: self.seed.unwrap_or_else(entropy_seed),
            tls: self
                .servers
                .iter()
                .map(|server| server.tls.clone())
                .collect(),
            event_batch,
            command_queue,
        })
    }

    fn routing(&self) -> Result<Routing, ConfigError> {
        Ok(match &self.routing {
            RoutingSetting::RoundRobin => Routing::RoundRobin,
            RoutingSetting::Sticky => Routing::Sticky,
            RoutingSetting::Failover(keys) => {
                if keys.is_empty() {
                    return Err(ConfigError::invalid(
                        None,
                        "routing.failover",
                        "the list is empty",
                    ));
                }
                let mut order = Vec::with_capacity(keys.len());
                for key in keys {
                    let index = self
                        .servers
                        .iter()
                        .position(|server| &server.key == key)
                        .ok_or_else(|| {
                            ConfigError::invalid(
                                None,
                                "routing.failover",
                                format!("no server has the key `{key}`"),
                            )
                        })?;
                    if order.contains(&index) {
                        return Err(ConfigError::invalid(
                            None,
                            "routing.failover",
                            format!("`{key}` is listed twice"),
                        ));
                    }
                    order.push(index);
                }
                Routing::Failover(order)
            }
        })
    }

    fn server_config(&self, server: &ServerSettings) -> Result<ServerConfig, ConfigError> {
        let at = Some(server.key.as_str());
        let key = ServerKey::new(&server.key)
            .map_err(|error| ConfigError::invalid(at, "key", error.to_string()))?;
        if server.host.is_empty() {
            return Err(ConfigError::invalid(at, "host", "is empty"));
        }
        if server.port == 0 {
            return Err(ConfigError::invalid(at, "port", "must not be 0"));
        }
        let secret = read_secret(server)?;
        let address = server.address();
        let mut session = SessionConfig::new(key, &address, &server.username, secret);
        session.auth = match server.auth {
            Auth::Md5 => AuthMethod::Md5,
            Auth::Plain => AuthMethod::Plain,
        };
        session.events.clone_from(&server.events);
        self.session.apply(&mut session);
        check_session(&session, at)?;
        Ok(ServerConfig { session, address })
    }

    /// Checks the configuration the way the core will, so that every error
    /// names its server and field before anything starts.
    ///
    /// # Errors
    /// As [`ClientConfig::resolve`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.resolve().map(|_| ())
    }
}

/// Builds a runtime's TLS connector for one server.
pub type TlsConnectorFor<'a> = &'a dyn Fn(
    &ServerSettings,
    &TlsSettings,
    Duration,
) -> Result<crate::SharedConnector, ConfigError>;

impl ClientConfig {
    /// One connector per server, in order: `plain` for servers without TLS,
    /// `tls` for the others (`None` when the runtime was built without TLS:
    /// such a server is a configuration error).
    ///
    /// # Errors
    /// [`ConfigError`] naming the server, from `tls` or for missing TLS.
    pub fn connectors(
        &self,
        connect_timeout: Duration,
        plain: &dyn Fn(Duration) -> crate::SharedConnector,
        tls: Option<TlsConnectorFor<'_>>,
    ) -> Result<Vec<crate::SharedConnector>, ConfigError> {
        self.servers
            .iter()
            .map(|server| match (&server.tls, tls) {
                (None, _) => Ok(plain(connect_timeout)),
                (Some(settings), Some(tls)) => tls(server, settings, connect_timeout),
                (Some(_), None) => Err(ConfigError::invalid(
                    Some(&server.key),
                    "tls",
                    "this build has no TLS (the `tls` feature is off)",
                )),
            })
            .collect()
    }
}

/// The core's own check of one server, with its error turned into one that
/// names the server and the field.
fn check_session(session: &SessionConfig, at: Option<&str>) -> Result<(), ConfigError> {
    Session::new(session.clone(), InstanceId::from_seed(0))
        .map(drop)
        .map_err(|error| session_error(&error, at))
}

fn session_error(error: &SessionConfigError, at: Option<&str>) -> ConfigError {
    match error {
        SessionConfigError::Zero { setting } => ConfigError::invalid(
            at,
            setting.trim_start_matches("registry."),
            "must be greater than zero",
        ),
        SessionConfigError::HeartbeatTimeoutNotBelowInterval => ConfigError::invalid(
            at,
            "heartbeat_timeout",
            "must be shorter than heartbeat_interval",
        ),
        SessionConfigError::Username => ConfigError::invalid(at, "username", "is empty"),
        SessionConfigError::Unwritable { setting, reason } => ConfigError::invalid(
            at,
            setting,
            format!("cannot be written on the wire: {reason}"),
        ),
        other @ SessionConfigError::MemoryBudgetBelowParser { .. } => {
            ConfigError::invalid(at, "memory_budget_bytes", other.to_string())
        }
        other @ SessionConfigError::OutboundBelowLogin { .. } => {
            ConfigError::invalid(at, "max_outbound_bytes", other.to_string())
        }
        other @ SessionConfigError::Parser(_) => {
            ConfigError::invalid(at, "session", other.to_string())
        }
    }
}

/// The configuration field a cluster-wide error is about.
const fn cluster_field(error: &ClusterConfigError) -> &'static str {
    match error {
        ClusterConfigError::MemoryBudgetBelowParser { .. } => "memory_budget_bytes",
        ClusterConfigError::FailoverEmpty
        | ClusterConfigError::FailoverRepeats(_)
        | ClusterConfigError::FailoverUnknown { .. } => "routing.failover",
        ClusterConfigError::Backoff => "reconnect.backoff_base",
        ClusterConfigError::Breaker => "reconnect.breaker_failures",
        ClusterConfigError::Zero { setting } => setting,
        ClusterConfigError::NoServers
        | ClusterConfigError::DuplicateKey(_)
        | ClusterConfigError::Session { .. } => "servers",
    }
}

fn read_secret(server: &ServerSettings) -> Result<Secret, ConfigError> {
    let at = Some(server.key.as_str());
    let secret = match (&server.secret, &server.secret_env) {
        (Some(secret), _) => secret.clone(),
        (None, Some(variable)) => match std::env::var(variable) {
            Ok(value) => Secret::new(&value),
            Err(std::env::VarError::NotPresent) => {
                return Err(ConfigError::invalid(
                    at,
                    "secret_env",
                    format!("the environment variable {variable} is not set"),
                ));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(ConfigError::invalid(
                    at,
                    "secret_env",
                    format!("the environment variable {variable} is not valid UTF-8"),
                ));
            }
        },
        (None, None) => {
            return Err(ConfigError::invalid(
                at,
                "secret_env",
                "no secret: name the environment variable that holds it",
            ));
        }
    };
    let value = secret.expose();
    if value.is_empty() {
        return Err(ConfigError::invalid(at, "secret", "is empty"));
    }
    if value.ends_with('\n') || value.ends_with('\r') {
        return Err(ConfigError::invalid(
            at,
            "secret",
            "ends with a line break (read from a file with a trailing newline?)",
        ));
    }
    if value.contains(['\r', '\n', '\0']) {
        return Err(ConfigError::invalid(
            at,
            "secret",
            "holds a line break or NUL, which cannot be written on the wire",
        ));
    }
    Ok(secret)
}

fn positive(server: Option<&str>, field: &str, value: usize) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::invalid(
            server,
            field,
            "must be greater than zero",
        ));
    }
    Ok(())
}

impl SessionSettings {
    fn apply(&self, session: &mut SessionConfig) {
        let set = |target: &mut Duration, value: Option<Duration>| {
            if let Some(value) = value {
                *target = value;
            }
        };
        set(&mut session.banner_timeout, self.banner_timeout);
        set(&mut session.login_timeout, self.login_timeout);
        set(&mut session.action_timeout, self.action_timeout);
        set(&mut session.heartbeat_interval, self.heartbeat_interval);
        set(&mut session.heartbeat_timeout, self.heartbeat_timeout);
        set(&mut session.shutdown_grace, self.shutdown_grace);
        let count = |target: &mut usize, value: Option<usize>| {
            if let Some(value) = value {
                *target = value;
            }
        };
        count(&mut session.max_outbound_bytes, self.max_outbound_bytes);
        count(&mut session.event_queue_capacity, self.event_queue_capacity);
        count(
            &mut session.max_queued_before_login,
            self.max_queued_before_login,
        );
        count(&mut session.registry.max_pending, self.max_pending);
        count(&mut session.registry.max_list_items, self.max_list_items);
        count(&mut session.registry.max_list_bytes, self.max_list_bytes);
        count(&mut session.memory_budget_bytes, self.memory_budget_bytes);
        if let Some(misses) = self.heartbeat_max_misses {
            session.heartbeat_max_misses = misses;
        }
    }
}

impl ReconnectSettings {
    fn apply(&self, mut backoff: Backoff, mut breaker: BreakerConfig) -> (Backoff, BreakerConfig) {
        backoff.base = self.backoff_base.unwrap_or(backoff.base);
        backoff.cap = self.backoff_cap.unwrap_or(backoff.cap);
        backoff.factor = self.backoff_factor.unwrap_or(backoff.factor);
        breaker.failure_threshold = self.breaker_failures.unwrap_or(breaker.failure_threshold);
        breaker.cooldown = self.breaker_cooldown.unwrap_or(breaker.cooldown);
        breaker.max_cooldown = self.breaker_max_cooldown.unwrap_or(breaker.max_cooldown);
        (backoff, breaker)
    }
}

/// A seed from the operating system's entropy.
fn entropy_seed() -> u64 {
    use rand::TryRngCore as _;
    // Without OS entropy the process cannot do TLS either; a fixed fallback
    // only loses jitter diversity between processes, never correctness.
    rand::rngs::OsRng
        .try_next_u64()
        .unwrap_or(0x5eed_a11c_e5ee_d001)
}
