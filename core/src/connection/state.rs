//! What a session is, says and is asked.

use std::time::Duration;

use crate::correlation::{Completion, CompletionStrategy};
use crate::protocol::{Frame, ProtocolError};

/// Where one server's connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// No socket.
    Disconnected,
    /// The runtime is opening the socket.
    Connecting,
    /// The socket is open; the banner has not come yet.
    AwaitingBanner,
    /// The login exchange is under way; nothing else is written.
    Authenticating,
    /// Logged in and answering heartbeats.
    Ready,
    /// Logged in, but a heartbeat went unanswered.
    Degraded,
    /// Logged in, but the server said it is shutting down (its `Shutdown`
    /// event, or an answer "Asterisk is shutting down"): no new action
    /// should go to it; pending ones end normally.
    Draining,
    /// Shutting down: no new actions; pending ones may still end.
    Closing,
}

/// Why the session asks the runtime to close the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// No banner within the banner timeout.
    BannerTimeout,
    /// The login exchange took longer than the login timeout.
    LoginTimeout,
    /// The server refused the login.
    LoginFailed,
    /// Too many consecutive heartbeats went unanswered.
    HeartbeatDead,
    /// The outbound buffer would have passed its limit.
    OutboundFull,
    /// The connection's buffers and queues passed the memory budget.
    MemoryBudget,
    /// The byte stream cannot be parsed any further.
    Protocol(ProtocolError),
    /// The shutdown is done.
    Shutdown,
}

/// What a session tells its runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOutput {
    /// An action ended (exactly once).
    Completed(Completion),
    /// An event from the bounded event queue.
    Event(Frame),
    /// The login succeeded.
    LoggedIn,
    /// The server refused the login; the connection will be closed. Retrying
    /// is the connection manager's decision, never a tight loop.
    LoginFailed {
        /// The server's `Message`.
        message: String,
    },
    /// Close the socket, then call `handle_disconnected`.
    Close {
        /// Why.
        reason: CloseReason,
    },
}

impl SessionOutput {
    /// Heap bytes held, for the memory budget.
    #[must_use]
    pub fn heap_size(&self) -> usize {
        match self {
            Self::Completed(completion) => completion
                .result
                .as_ref()
                .map_or(0, crate::correlation::Response::heap_size),
            Self::Event(frame) => frame.heap_size(),
            Self::LoginFailed { message } => message.capacity(),
            Self::LoggedIn | Self::Close { .. } => 0,
        }
    }
}

/// Per-action choices; the defaults come from the action and the config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubmitOptions {
    /// This action's deadline instead of the configured one.
    pub timeout: Option<Duration>,
    /// This action's completion instead of the one its name implies.
    pub strategy: Option<CompletionStrategy>,
    /// When no server may take it now: `Some(true)` lets it wait, to be
    /// written once a server can take it or to end at its own deadline
    /// (`Timeout`), exactly once. An action for any server waits in the
    /// cluster's bounded queue for the first server that becomes eligible;
    /// an action for one server waits in that server's queue for its
    /// login. `Some(false)` refuses it at once (`NoHealthyServer`,
    /// `ServerUnavailable`). `None` leaves it to the runtime: the core
    /// refuses, the runtimes wait until a first server has logged in.
    pub wait_for_server: Option<bool>,
}
