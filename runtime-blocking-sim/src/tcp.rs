//! [`TcpNode`]: a [`FakeAsterisk`] on a real TCP socket on the loopback, so
//! runtimes and the CLI can be tested against it without an Asterisk.
//!
//! It runs on the real clock (it is an adapter, not the simulator): one
//! thread accepts one client at a time and drives the node with the bytes
//! it reads and the instants it sees.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::fake::{FakeAsterisk, NodeConfig, NodeStats};

/// How long a read waits before the node's timers get a look.
const READ_SLICE: Duration = Duration::from_millis(5);

/// A fake node listening on `127.0.0.1` on a port of the system's choosing.
#[derive(Debug)]
pub struct TcpNode {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<NodeStats>>,
}

impl TcpNode {
    /// Starts serving `config` on a fresh loopback port.
    ///
    /// # Errors
    /// When the socket cannot be bound or the thread cannot start.
    pub fn spawn(config: NodeConfig, seed: u64) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(format!("fake-asterisk-{}", address.port()))
            .spawn(move || serve(&listener, FakeAsterisk::new(config, seed), &flag))?;
        Ok(Self {
            address,
            stop,
            thread: Some(thread),
        })
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
        self.stop.store(true, Ordering::SeqCst);
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

fn serve(listener: &TcpListener, mut node: FakeAsterisk, stop: &AtomicBool) -> NodeStats {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match stream {
            Ok(stream) => {
                if let Err(error) = serve_one(stream, &mut node, stop) {
                    eprintln!("fake asterisk: connection ended: {error}");
                }
                node.on_disconnect();
            }
            Err(error) => eprintln!("fake asterisk: accept failed: {error}"),
        }
    }
    node.stats()
}

fn serve_one(
    mut stream: TcpStream,
    node: &mut FakeAsterisk,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_SLICE))?;
    stream.set_nodelay(true)?;
    node.on_connect(now());
    let mut buffer = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::SeqCst) {
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
