//! The signals that stop a client: SIGTERM (a service manager) and SIGINT
//! (Ctrl-C).

use std::io;

use async_signal::Signals;
use smol::stream::StreamExt as _;

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM.
    Terminate,
    /// SIGINT, Ctrl-C (a CLI exits with 130 after it).
    Interrupt,
}

/// Waits for the first SIGTERM or SIGINT.
///
/// # Errors
/// When the signal handlers cannot be installed, or the stream ends.
pub async fn wait_for_signal() -> io::Result<Signal> {
    let mut signals = Signals::new([async_signal::Signal::Term, async_signal::Signal::Int])?;
    match signals.next().await {
        Some(Ok(async_signal::Signal::Term)) => Ok(Signal::Terminate),
        Some(Ok(_)) => Ok(Signal::Interrupt),
        Some(Err(error)) => Err(error),
        None => Err(io::Error::other("the signal stream ended")),
    }
}
