//! [`TcpNode`]: a [`FakeAsterisk`] on a real TCP socket on the loopback, so
//! runtimes and the CLI can be tested against it without an Asterisk.
//!
//! It runs on the real clock (it is an adapter, not the simulator): one
//! thread accepts one client at a time and drives the node with the bytes
//! it reads and the instants it sees.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::fake::{FakeAsterisk, NodeConfig, NodeStats};

/// How long a read waits before the node's timers get a look.
const READ_SLICE: Duration = Duration::from_millis(5);

/// A change to make to the node from outside, run by the serving thread.
type Control = Box<dyn FnOnce(&mut FakeAsterisk) + Send>;

/// What the test side shares with the serving thread.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Close the current connection at the next look (a crash of the
    /// connection, not of the node).
    drop_connection: AtomicBool,
    controls: Mutex<Vec<Control>>,
    stats: Mutex<NodeStats>,
    /// Actions received and not yet taken (the latest 1 024).
    received: Mutex<std::collections::VecDeque<String>>,
}

/// Received actions kept for [`TcpNode::take_received`].
const RECEIVED_KEPT: usize = 1024;

/// A fake node listening on `127.0.0.1` on a port of the system's choosing.
pub struct TcpNode {
    address: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<NodeStats>>,
}

impl std::fmt::Debug for TcpNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpNode")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl TcpNode {
    /// Starts serving `config` on a fresh loopback port.
    ///
    /// # Errors
    /// When the socket cannot be bound or the thread cannot start.
    pub fn spawn(config: NodeConfig, seed: u64) -> std::io::Result<Self> {
        let loopback = SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0));
        Self::spawn_at(loopback, config, seed)
    }

    /// Starts serving `config` at `address`: a node restarted on the port
    /// of one that was stopped.
    ///
    /// # Errors
    /// When the socket cannot be bound or the thread cannot start.
    pub fn spawn_at(address: SocketAddr, config: NodeConfig, seed: u64) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address)?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let serving = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("fake-asterisk-{}", address.port()))
            .spawn(move || serve(&listener, FakeAsterisk::new(config, seed), &serving))?;
        Ok(Self {
            address,
            shared,
            thread: Some(thread),
        })
    }

    /// Runs `change` on the node from its serving thread, within a few
    /// milliseconds: switch it mute, make it send calls, change its
    /// Command format.
    pub fn control(&self, change: impl FnOnce(&mut FakeAsterisk) + Send + 'static) {
        self.shared
            .controls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::new(change));
    }

    /// Closes the current client connection (the node keeps listening).
    pub fn drop_connection(&self) {
        self.shared.drop_connection.store(true, Ordering::SeqCst);
    }

    /// The actions received since the last call, one line each (secrets
    /// masked), the latest 1 024 at most.
    #[must_use]
    pub fn take_received(&self) -> Vec<String> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect()
    }

    /// What the node has observed so far (updated every few milliseconds).
    #[must_use]
    pub fn stats(&self) -> NodeStats {
        *self
            .shared
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Where to connect.
    #[must_use]
    pub const fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops serving and returns what the node observed.
    ///
    /// # Errors
    /// When the serving thread panicked.
    pub fn stop(mut self) -> std::thread::Result<NodeStats> {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept; the thread sees the flag and ends. A
        // failed wake-up only means the thread is not in accept.
        if let Err(error) = TcpStream::connect(self.address) {
            eprintln!(
                "fake asterisk {}: wake-up connect failed: {error}",
                self.address
            );
        }
        match self.thread.take() {
            Some(thread) => thread.join(),
            None => Ok(NodeStats::default()),
        }
    }
}

#[allow(clippy::disallowed_methods)] // a real socket runs on the real clock
fn now() -> Instant {
    Instant::now()
}

fn serve(listener: &TcpListener, mut node: FakeAsterisk, shared: &Shared) -> NodeStats {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        match stream {
            Ok(stream) => {
                if let Err(error) = serve_one(stream, &mut node, shared) {
                    eprintln!("fake asterisk: connection ended: {error}");
                }
                node.on_disconnect();
                publish(&mut node, shared);
            }
            Err(error) => eprintln!("fake asterisk: accept failed: {error}"),
        }
    }
    node.stats()
}

fn publish(node: &mut FakeAsterisk, shared: &Shared) {
    *shared.stats.lock().unwrap_or_else(PoisonError::into_inner) = node.stats();
    let lines = node.take_received();
    if !lines.is_empty() {
        let mut received = shared
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        received.extend(lines);
        let excess = received.len().saturating_sub(RECEIVED_KEPT);
        received.drain(..excess);
    }
}

fn serve_one(
    mut stream: TcpStream,
    node: &mut FakeAsterisk,
    shared: &Shared,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_SLICE))?;
    stream.set_nodelay(true)?;
    shared.drop_connection.store(false, Ordering::SeqCst);
    node.on_connect(now());
    let mut buffer = vec![0u8; 64 * 1024];
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.drop_connection.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        // One change per turn, after the previous turn's bytes went out: a
        // burst of calls is written as fast as the socket takes it, as
        // Asterisk would, instead of piling up past the slow-reader limit.
        let change = {
            let mut controls = shared
                .controls
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            (!controls.is_empty()).then(|| controls.remove(0))
        };
        if let Some(change) = change {
            change(node);
        }
        publish(node, shared);
        if let Some(bytes) = node.poll_transmit() {
            let count = bytes.len();
            stream.write_all(bytes)?;
            node.consume(count);
        }
        if node.wants_close() {
            return Ok(());
        }
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(count) => node.on_bytes(&buffer[..count], now()),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => return Err(error),
        }
        node.handle_timeout(now());
    }
    Ok(())
}
