//! [`AmiError`]: every way an action can end without its answer.

use std::time::Duration;

/// Which bound refused an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bound {
    /// Concurrent pending actions of one server.
    PendingActions,
    /// Actions waiting for the login to finish.
    QueuedBeforeLogin,
    /// Bytes waiting to be written to one server (an action larger than
    /// the whole outbound bound can never be written).
    OutboundBytes,
    /// Heap bytes one connection, or the whole client, may hold.
    MemoryBudget,
    /// Actions the cluster holds while no server can take them.
    WaitingForServer,
}

/// Why an action ended without its answer. Every submitted action ends
/// exactly once: with its response, or with one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmiError {
    /// No complete answer before the action's deadline.
    #[error("no answer within {after:?}")]
    Timeout {
        /// The action's time limit.
        after: Duration,
    },
    /// The connection to the server closed while the action was pending.
    /// Nothing is replayed: the caller decides (Originate is not idempotent).
    #[error("the connection was lost while the action was pending")]
    ConnectionLost,
    /// A bound was full; the action was never sent.
    #[error("rejected: {bound:?} at its limit of {limit} (depth {depth})")]
    Rejected {
        /// Which bound.
        bound: Bound,
        /// How full it was.
        depth: usize,
        /// Its limit.
        limit: usize,
    },
    /// The client is shutting down and takes no more actions, or the action
    /// was still pending when the shutdown's grace period ended.
    #[error("the client is shutting down")]
    ShuttingDown,
    /// No server is eligible (all disconnected, degraded or circuit-open).
    #[error("no healthy server to send the action to")]
    NoHealthyServer,
    /// The targeted server's circuit breaker is open.
    #[error("the server's circuit breaker is open")]
    CircuitOpen,
    /// The targeted server is not logged in and healthy.
    #[error("the server is not available (disconnected or degraded)")]
    ServerUnavailable,
    /// The targeted server is not part of the cluster.
    #[error("no server {index} in the cluster")]
    UnknownServer {
        /// The index asked for.
        index: usize,
    },
    /// No server of the cluster has this key.
    #[error("no server with the key {key:?} in the cluster")]
    UnknownServerKey {
        /// The key asked for.
        key: String,
    },
    /// An action with this ActionID sequence is already pending; the new
    /// one was not registered (a caller registering twice by mistake).
    #[error("an action with ActionID sequence {sequence} is already pending")]
    AlreadyPending {
        /// The sequence asked for twice.
        sequence: u64,
    },
    /// A headerless answer (the old `Queues`) passed the frame size limit
    /// and was discarded.
    #[error("the answer passed the frame size limit of {limit} bytes and was discarded")]
    AnswerTooLarge {
        /// The frame size limit in force.
        limit: usize,
    },
    /// An event list grew past its cap; the rest of it is discarded.
    #[error("the event list passed its cap of {max_items} items or {max_bytes} bytes")]
    ListTooLong {
        /// The item cap.
        max_items: usize,
        /// The byte cap.
        max_bytes: usize,
    },
}
