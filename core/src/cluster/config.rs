//! The cluster's settings and what makes them unusable.

use crate::connection::{SessionConfig, SessionConfigError};
use crate::health::{Backoff, BreakerConfig};

/// One server: its session settings and where to connect.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The session's settings (server key, credentials, bounds).
    pub session: SessionConfig,
    /// What the runtime connects to, `host:port`.
    pub address: String,
}

/// Which routing strategy the cluster uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routing {
    /// Each healthy server in turn.
    RoundRobin,
    /// The first healthy server in this order of server indexes.
    Failover(Vec<usize>),
    /// The same routing key on the same server (rendezvous hashing).
    Sticky,
}

/// The cluster's settings.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The servers, in order.
    pub servers: Vec<ServerConfig>,
    /// How actions without an explicit server pick one.
    pub routing: Routing,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Per-server circuit breakers.
    pub breaker: BreakerConfig,
    /// Heap bytes all servers' buffers and queues may hold together; past it
    /// the client shuts down at once.
    pub memory_budget_bytes: usize,
    /// Cluster log records that may wait to be drained.
    pub log_capacity: usize,
    /// Actions that may wait in the cluster for a server to become
    /// eligible ([`SubmitOptions::wait_for_server`](crate::connection::SubmitOptions::wait_for_server)).
    pub max_waiting_actions: usize,
}

impl ClusterConfig {
    /// Round-robin over `servers`, default backoff and breaker, 512 MiB budget,
    /// up to 4,096 actions waiting for a server.
    #[must_use]
    pub fn new(servers: Vec<ServerConfig>) -> Self {
        Self {
            servers,
            routing: Routing::RoundRobin,
            backoff: Backoff::default(),
            breaker: BreakerConfig::default(),
            memory_budget_bytes: 512 * 1024 * 1024,
            log_capacity: 4096,
            max_waiting_actions: 4096,
        }
    }
}

/// A cluster setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterConfigError {
    /// No server configured.
    #[error("a cluster needs at least one server")]
    NoServers,
    /// Two servers share a key (ActionIDs and metrics would be ambiguous).
    #[error("server key {0:?} is used twice")]
    DuplicateKey(String),
    /// The backoff cannot keep its floor and cap.
    #[error("backoff must have base ≥ 100 ms, cap ≥ base and factor ≥ 1")]
    Backoff,
    /// The breaker needs at least one failure to open.
    #[error("the breaker's failure threshold must be at least 1")]
    Breaker,
    /// A bound of the cluster is zero.
    #[error("{setting} must be greater than zero")]
    Zero {
        /// Which setting.
        setting: &'static str,
    },
    /// The client-wide budget is smaller than one server's parser may
    /// hold by itself: the first busy server would shut the client down.
    #[error(
        "memory_budget_bytes {budget} is below the {needed} bytes one server's parser may hold"
    )]
    MemoryBudgetBelowParser {
        /// The budget asked for.
        budget: usize,
        /// The largest parser buffer of any server.
        needed: usize,
    },
    /// A `Failover` order names no server at all.
    #[error("the failover order is empty")]
    FailoverEmpty,
    /// A `Failover` order names a server twice.
    #[error("the failover order names server {0} twice")]
    FailoverRepeats(usize),
    /// A `Failover` order names a server that is not configured.
    #[error("the failover order names server {index}, but there are {servers} servers")]
    FailoverUnknown {
        /// The index named.
        index: usize,
        /// How many servers there are.
        servers: usize,
    },
    /// A server's session settings.
    #[error("server {index}: {error}")]
    Session {
        /// Which server.
        index: usize,
        /// What is wrong.
        error: SessionConfigError,
    },
}

impl ClusterConfig {
    /// Checks what can be checked without building the sessions: servers,
    /// keys, backoff, breaker, the cluster-wide bounds and the failover
    /// order. [`Cluster::new`](super::Cluster::new) runs it, then each
    /// session's own check.
    ///
    /// # Errors
    /// The first [`ClusterConfigError`] found.
    pub fn validate(&self) -> Result<(), ClusterConfigError> {
        if self.servers.is_empty() {
            return Err(ClusterConfigError::NoServers);
        }
        if !self.backoff.is_valid() {
            return Err(ClusterConfigError::Backoff);
        }
        if self.breaker.failure_threshold == 0 {
            return Err(ClusterConfigError::Breaker);
        }
        let mut keys: Vec<&str> = self
            .servers
            .iter()
            .map(|s| s.session.server_key.as_str())
            .collect();
        keys.sort_unstable();
        if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(ClusterConfigError::DuplicateKey(pair[0].to_owned()));
        }
        self.check_bounds()
    }

    /// The cluster-wide bounds and the failover order.
    fn check_bounds(&self) -> Result<(), ClusterConfigError> {
        if self.log_capacity == 0 {
            return Err(ClusterConfigError::Zero {
                setting: "log_capacity",
            });
        }
        if self.max_waiting_actions == 0 {
            return Err(ClusterConfigError::Zero {
                setting: "max_waiting_actions",
            });
        }
        if self.memory_budget_bytes == 0 {
            return Err(ClusterConfigError::Zero {
                setting: "memory_budget_bytes",
            });
        }
        let needed = self
            .servers
            .iter()
            .map(|server| server.session.smallest_memory_budget())
            .max()
            .unwrap_or(0);
        if self.memory_budget_bytes < needed {
            return Err(ClusterConfigError::MemoryBudgetBelowParser {
                budget: self.memory_budget_bytes,
                needed,
            });
        }
        if let Routing::Failover(order) = &self.routing {
            if order.is_empty() {
                return Err(ClusterConfigError::FailoverEmpty);
            }
            let servers = self.servers.len();
            let mut seen = vec![false; servers];
            for &index in order {
                match seen.get_mut(index) {
                    None => return Err(ClusterConfigError::FailoverUnknown { index, servers }),
                    Some(true) => return Err(ClusterConfigError::FailoverRepeats(index)),
                    Some(slot) => *slot = true,
                }
            }
        }
        Ok(())
    }
}
