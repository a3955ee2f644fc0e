//! [`Client`]: the application's handle, cheap to clone. Every call is a
//! message to the driver task that owns the core; nothing here touches a
//! socket.

use std::sync::{Arc, Mutex, PoisonError};

use apn_ami_core::connection::{SessionState, SubmitOptions};
use apn_ami_core::correlation::{AmiError, Response};
use apn_ami_core::health::HealthState;
use apn_ami_core::protocol::Action;
use futures_channel::oneshot;

use crate::handoff::{EventStream, Handoff};

/// Where an action goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Any healthy server, as the configured routing picks.
    Any,
    /// The server the routing picks for this key; with sticky routing the
    /// same key keeps the same server (a channel, an account).
    Key(Vec<u8>),
    /// The server with this key, or a typed error at once if it is not
    /// healthy.
    Server(String),
}

/// One server as the driver last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    /// The server's key.
    pub key: String,
    /// Where it is.
    pub address: String,
    /// Its health (only `Healthy` servers take actions).
    pub health: HealthState,
    /// Its connection's state.
    pub state: SessionState,
    /// Actions pending on it.
    pub pending: usize,
    /// Reconnects so far.
    pub reconnects: u64,
    /// Events dropped (oldest first) because the application lagged, so
    /// far.
    pub dropped_events: u64,
    /// Why its last connection attempt or login failed, if it did and it
    /// has not logged in since.
    pub last_error: Option<Failure>,
}

/// Why a server's latest attempt failed, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Nothing listens there.
    #[error("connection refused by {address} (is Asterisk's manager enabled on that port?)")]
    Refused {
        /// `host:port`.
        address: String,
    },
    /// The connect (or its TLS handshake) took too long.
    #[error("connecting to {address} timed out")]
    TimedOut {
        /// `host:port`.
        address: String,
    },
    /// The TLS handshake failed: an unknown CA, a wrong name, no TLS there.
    #[error("TLS with {address} failed: {reason}")]
    Tls {
        /// `host:port`.
        address: String,
        /// rustls's reason.
        reason: String,
    },
    /// The server refused the login.
    #[error("authentication failed: {message}")]
    Authentication {
        /// The server's `Message`.
        message: String,
    },
    /// The connection ended: closed by the server, or a read or write
    /// failed.
    #[error("the connection to {address} was lost: {reason}")]
    Lost {
        /// `host:port`.
        address: String,
        /// What happened.
        reason: String,
    },
    /// Another connect failure.
    #[error("cannot connect to {address}: {reason}")]
    Connect {
        /// `host:port`.
        address: String,
        /// The operating system's reason.
        reason: String,
    },
}

/// A TLS handshake failure, as a connector wraps it in an [`std::io::Error`]
/// so that the driver reports [`Failure::Tls`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TlsFailure(pub String);

/// Why [`Client::ready`] gave up: every server's latest attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// No server is up, and each one's latest attempt failed.
    #[error("no server is ready: {}", .0.iter().map(|(key, why)| format!("{key}: {why}")).collect::<Vec<_>>().join("; "))]
    AllFailed(Vec<(String, Failure)>),
    /// The client shut down.
    #[error("the client is shutting down")]
    ShuttingDown,
}

/// [`Client::events`] was called while another [`EventStream`] is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client's event stream is already taken (one consumer per client)")]
pub struct EventsTaken;

/// What the application asks of the driver.
#[derive(Debug)]
pub(crate) enum Command {
    Submit {
        action: Action,
        target: Target,
        options: SubmitOptions,
        reply: oneshot::Sender<Result<Response, AmiError>>,
    },
    Health(oneshot::Sender<Vec<ServerStatus>>),
    Metrics(oneshot::Sender<String>),
    Ready(oneshot::Sender<Result<(), NotReady>>),
    Shutdown(oneshot::Sender<()>),
}

/// What outlives the driver: its last metrics.
#[derive(Debug, Default)]
pub(crate) struct Afterword {
    pub(crate) metrics: Mutex<String>,
}

/// The application's handle on a running client: cheap to clone, `Send`
/// and `Sync`. When the last handle is dropped the client shuts down (as
/// [`Client::shutdown`], without waiting).
#[derive(Debug, Clone)]
pub struct Client {
    commands: async_channel::Sender<Command>,
    handoff: Arc<Handoff>,
    afterword: Arc<Afterword>,
}

/// A handle that does not keep the client alive (for a signal handler or a
/// metrics endpoint that should not stop the client from shutting down when
/// the application drops its handles).
#[derive(Debug, Clone)]
pub struct WeakClient {
    commands: async_channel::WeakSender<Command>,
    handoff: Arc<Handoff>,
    afterword: Arc<Afterword>,
}

/// The signal a [`WeakClient::shutdown_after`] task saw, readable from
/// the moment it starts shutting the client down.
///
/// The flag is set *before* the shutdown begins, so code that sees the
/// client end (an event stream returning `None`, a refused send) and then
/// asks [`SignalSeen::received`] always gets the signal: no race with the
/// signal task being scheduled.
#[derive(Debug)]
pub struct SignalSeen<S>(Arc<std::sync::OnceLock<S>>);

impl<S> Clone for SignalSeen<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<S> Default for SignalSeen<S> {
    fn default() -> Self {
        Self(Arc::new(std::sync::OnceLock::new()))
    }
}

impl<S: Copy> SignalSeen<S> {
    /// The signal, once one has started the shutdown.
    #[must_use]
    pub fn received(&self) -> Option<S> {
        self.0.get().copied()
    }
}

impl WeakClient {
    /// Waits for `signal` (a runtime's SIGTERM/SIGINT future), records it in
    /// `seen`, then shuts the client down if it still runs. Returns the
    /// signal it saw, or `None` when the handlers could not be installed
    /// (logged).
    pub async fn shutdown_after<S, E>(
        self,
        signal: impl Future<Output = Result<S, E>>,
        seen: SignalSeen<S>,
    ) -> Option<S>
    where
        S: std::fmt::Debug + Copy,
        E: std::fmt::Display,
    {
        let signal = match signal.await {
            Ok(signal) => signal,
            Err(error) => {
                log::error!(target: crate::TARGET, "cannot listen for signals: {error}");
                return None;
            }
        };
        log::info!(target: crate::TARGET, "{signal:?} received; shutting down");
        // First come, first kept: a second watcher's signal does not
        // replace the one that started the shutdown.
        if let Err(later) = seen.0.set(signal) {
            log::debug!(target: crate::TARGET, "{later:?} seen after an earlier signal");
        }
        if let Some(client) = self.upgrade() {
            client.shutdown().await;
        }
        Some(signal)
    }

    /// The client, while any strong handle is alive.
    #[must_use]
    pub fn upgrade(&self) -> Option<Client> {
        Some(Client {
            commands: self.commands.upgrade()?,
            handoff: Arc::clone(&self.handoff),
            afterword: Arc::clone(&self.afterword),
        })
    }
}

impl Client {
    /// A handle that does not keep the client alive.
    #[must_use]
    pub fn downgrade(&self) -> WeakClient {
        WeakClient {
            commands: self.commands.downgrade(),
            handoff: Arc::clone(&self.handoff),
            afterword: Arc::clone(&self.afterword),
        }
    }

    pub(crate) const fn new(
        commands: async_channel::Sender<Command>,
        handoff: Arc<Handoff>,
        afterword: Arc<Afterword>,
    ) -> Self {
        Self {
            commands,
            handoff,
            afterword,
        }
    }

    /// Sends an action to a healthy server picked by the configured routing
    /// and waits for its whole answer (a list with its items). It ends
    /// exactly once: with the response, even an `Error` one, or an
    /// [`AmiError`] (timeout, connection lost, rejected, no healthy server,
    /// shutting down). Until a first server has logged in, an action waits
    /// for one, up to its own timeout, so a client can be used as soon as
    /// it is started; [`SubmitOptions::wait_for_server`] chooses otherwise,
    /// at start-up or later on.
    ///
    /// # Errors
    /// [`AmiError`] when no answer came.
    pub async fn send(&self, action: Action) -> Result<Response, AmiError> {
        self.send_with(action, Target::Any, SubmitOptions::default())
            .await
    }

    /// Sends an action to the server with this key.
    ///
    /// # Errors
    /// As [`Client::send`]; [`AmiError::UnknownServer`] for a key no server
    /// has, [`AmiError::CircuitOpen`] or [`AmiError::ServerUnavailable`]
    /// when that server is not healthy.
    pub async fn send_to(&self, server: &str, action: Action) -> Result<Response, AmiError> {
        self.send_with(
            action,
            Target::Server(server.to_owned()),
            SubmitOptions::default(),
        )
        .await
    }

    /// Sends an action routed by `key`: with sticky routing, the same key
    /// goes to the same server while it is healthy.
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn send_keyed(
        &self,
        key: impl AsRef<[u8]>,
        action: Action,
    ) -> Result<Response, AmiError> {
        self.send_with(
            action,
            Target::Key(key.as_ref().to_vec()),
            SubmitOptions::default(),
        )
        .await
    }

    /// Sends an action with a target and per-call options (its own timeout,
    /// its own completion strategy).
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn send_with(
        &self,
        action: Action,
        target: Target,
        options: SubmitOptions,
    ) -> Result<Response, AmiError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Submit {
            action,
            target,
            options,
            reply,
        };
        if self.commands.send(command).await.is_err() {
            return Err(AmiError::ShuttingDown);
        }
        // The driver answers every submit exactly once; a dropped reply
        // means the driver itself is gone.
        answer.await.unwrap_or(Err(AmiError::ShuttingDown))
    }

    /// Waits until at least one server is logged in and healthy.
    ///
    /// # Errors
    /// [`NotReady::AllFailed`] with each server's reason once every server's
    /// latest attempt failed (a refused connection, a wrong secret); the
    /// client keeps retrying with backoff, so a later call may succeed.
    pub async fn ready(&self) -> Result<(), NotReady> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Ready(reply)).await.is_err() {
            return Err(NotReady::ShuttingDown);
        }
        answer.await.unwrap_or(Err(NotReady::ShuttingDown))
    }

    /// The client's events, one stream per client, as fast as the
    /// application takes them.
    ///
    /// # Errors
    /// [`EventsTaken`] while another stream from this client is alive.
    pub fn events(&self) -> Result<EventStream, EventsTaken> {
        if self.handoff.attach() {
            Ok(EventStream::new(Arc::clone(&self.handoff)))
        } else {
            Err(EventsTaken)
        }
    }

    /// Every server's health, state and pending count; empty once the
    /// client has shut down.
    pub async fn health(&self) -> Vec<ServerStatus> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Health(reply)).await.is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }

    /// Every server's metrics in the Prometheus text format; after the
    /// shutdown, the last ones.
    pub async fn metrics_text(&self) -> String {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Metrics(reply)).await.is_ok()
            && let Ok(text) = answer.await
        {
            return text;
        }
        self.afterword
            .metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Shuts the client down and waits until it is done: no new actions;
    /// pending ones end (answered, or `ShuttingDown` at the grace deadline);
    /// `Logoff` to every server; sockets closed. Every pending action has
    /// ended when this returns.
    pub async fn shutdown(&self) {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Shutdown(reply)).await.is_ok() {
            // Either the driver says it is done, or it dropped the reply as
            // it ended: both mean done.
            answer.await.unwrap_or(());
        }
    }
}
