//! The signals that stop a client: SIGTERM (a service manager) and SIGINT
//! (Ctrl-C).

use std::io;

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
/// When the signal handlers cannot be installed.
#[cfg(unix)]
pub async fn wait_for_signal() -> io::Result<Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = terminate.recv() => Ok(Signal::Terminate),
        _ = interrupt.recv() => Ok(Signal::Interrupt),
    }
}

/// Waits for Ctrl-C (the only stop signal off Unix).
///
/// # Errors
/// When the handler cannot be installed.
#[cfg(not(unix))]
pub async fn wait_for_signal() -> io::Result<Signal> {
    tokio::signal::ctrl_c().await?;
    Ok(Signal::Interrupt)
}
