//! What a runtime plugs into the driver: connections, connectors and a
//! timer. These are the only runtime-specific pieces; everything else (the
//! run loop, routing of answers, event hand-off, logging) is shared.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// One open byte stream to an Asterisk server (TCP, TLS, in memory).
///
/// The driver polls it from its single task: reads until `Pending`, writes
/// what the stream takes (a short write is the normal case).
pub trait Connection: Send + Unpin + 'static {
    /// Reads into `buf`; `Ready(Ok(0))` is the end of the stream.
    ///
    /// # Errors
    /// The stream's own I/O error; the driver treats it as a disconnect.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes some of `buf`, returning how many bytes the stream took.
    ///
    /// # Errors
    /// The stream's own I/O error; the driver treats it as a disconnect.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;

    /// Pushes buffered bytes (a TLS record) to the socket.
    ///
    /// # Errors
    /// The stream's own I/O error; the driver treats it as a disconnect.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// A connection being opened.
pub type ConnectFuture = Pin<Box<dyn Future<Output = io::Result<Box<dyn Connection>>> + Send>>;

/// Where one connect goes: the server's key (as configured) and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTarget {
    /// The server's key.
    pub server_key: String,
    /// `host:port`.
    pub address: String,
}

/// Opens connections to one server (or, for an in-memory test cluster, to
/// whichever server the target names).
pub trait Connector: Send + Sync + fmt::Debug + 'static {
    /// Starts opening a connection. The future must end on its own (a
    /// connector bounds its connect and handshake time).
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture;
}

/// A shared connector, one per server.
pub type SharedConnector = Arc<dyn Connector>;

/// The runtime's clock and the driver's one timer.
pub trait Timer: Send + Unpin + 'static {
    /// The runtime's current instant (a paused test clock where the runtime
    /// has one).
    fn now(&self) -> Instant;

    /// Moves the timer to `deadline`.
    fn reset(&mut self, deadline: Instant);

    /// `Ready` once the deadline passed; otherwise registers the waker.
    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}
