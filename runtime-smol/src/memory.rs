//! In-memory fake Asterisk nodes on smol: an application tests its own AMI
//! logic against [`FakeAsterisk`](apn_ami_sim::FakeAsterisk) through the real client, with no socket.
//! (smol has no paused clock: timers run in real time.)
//!
//! ```
//! use apn_ami_smol::memory::{FakeCluster, FakeNode};
//! use apn_ami_smol::{Action, Client, ClientConfig, Secret, ServerSettings};
//! use apn_ami_sim::NodeConfig;
//!
//! smol::block_on(async {
//!     let node = FakeNode::new(NodeConfig::new("app", "s3cret"), 1);
//!     let fakes = FakeCluster::new().with_node("pbx-a", node.clone());
//!     let server = ServerSettings::new("pbx-a", "fake", 5038, "app", Secret::new("s3cret"));
//!     let client = Client::start_with(&ClientConfig::new(vec![server]), fakes.shared()).unwrap();
//!     client.ready().await.unwrap();
//!     let pong = client.send(Action::new("Ping").unwrap()).await.unwrap();
//!     assert!(pong.is_success());
//!     client.shutdown().await;
//!     assert_eq!(node.stats().logoffs, 1);
//! });
//! ```

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use apn_ami_client::{ConnectFuture, ConnectTarget, Connection, Connector, SharedConnector};
use apn_ami_sim::SharedNode;
use futures_io::{AsyncRead, AsyncWrite};
use smol::io::{AsyncReadExt, AsyncWriteExt};

use crate::SmolConnection;

/// Bytes the in-memory pipe holds each way (a socket buffer's worth).
const PIPE_BYTES: usize = 256 * 1024;

/// One end of an in-memory connection: reads what the other end wrote.
pub struct MemoryStream {
    reader: piper::Reader,
    writer: piper::Writer,
}

impl std::fmt::Debug for MemoryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStream")
            .field("unread", &self.reader.len())
            .finish_non_exhaustive()
    }
}

/// Two connected ends, each holding `capacity` bytes in flight one way.
fn duplex(capacity: usize) -> (MemoryStream, MemoryStream) {
    let (server_reads, client_writes) = piper::pipe(capacity);
    let (client_reads, server_writes) = piper::pipe(capacity);
    (
        MemoryStream {
            reader: client_reads,
            writer: client_writes,
        },
        MemoryStream {
            reader: server_reads,
            writer: server_writes,
        },
    )
}

impl AsyncRead for MemoryStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_close(cx)
    }
}

/// The fake nodes, shared between a test and the tasks serving their
/// connections (see [`SharedNode`]).
pub use apn_ami_sim::SharedNode as FakeNode;

/// Opens a connection to `node`: the client's end of a pipe whose other
/// end a spawned task serves.
///
/// # Errors
/// `ConnectionRefused` while the node refuses connections.
pub fn connect(node: &FakeNode) -> io::Result<MemoryStream> {
    let generation = node.open(now())?;
    let (client, server) = duplex(PIPE_BYTES);
    smol::spawn(serve(node.clone(), server, generation)).detach();
    Ok(client)
}

#[allow(clippy::disallowed_methods)] // smol's clock is the system's
fn now() -> Instant {
    Instant::now()
}

/// What woke the serving task.
enum Wake {
    Read(io::Result<usize>),
    Changed,
    Timer,
}

/// Serves one connection until either side closes it.
async fn serve(node: SharedNode, mut pipe: MemoryStream, generation: u64) {
    let mut buffer = vec![0u8; 64 * 1024];
    while let Some(turn) = node.turn(generation) {
        if let Some(out) = turn.output {
            if pipe.write_all(&out).await.is_err() {
                break;
            }
            continue;
        }
        if turn.close {
            break;
        }
        let read = async { Wake::Read(pipe.read(&mut buffer).await) };
        let changed = async {
            node.changed().await;
            Wake::Changed
        };
        let timer = async {
            match turn.deadline {
                Some(at) => async_io::Timer::at(at).await,
                None => async_io::Timer::never().await,
            };
            Wake::Timer
        };
        match smol::future::or(read, smol::future::or(changed, timer)).await {
            Wake::Read(Ok(0) | Err(_)) => break,
            Wake::Read(Ok(count)) => node.lock().on_bytes(&buffer[..count], now()),
            Wake::Changed => {}
            Wake::Timer => node.lock().handle_timeout(now()),
        }
    }
    node.closed(generation);
}

/// A connector to in-memory fake nodes, by server key.
#[derive(Debug, Clone, Default)]
pub struct FakeCluster {
    nodes: HashMap<String, FakeNode>,
}

impl FakeCluster {
    /// No nodes yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves the server `key` with `node`.
    #[must_use]
    pub fn with_node(mut self, key: &str, node: FakeNode) -> Self {
        self.nodes.insert(key.to_owned(), node);
        self
    }

    /// As a connector for [`Client::start_with`](crate::Client::start_with).
    #[must_use]
    pub fn shared(self) -> SharedConnector {
        Arc::new(self)
    }
}

impl Connector for FakeCluster {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let result = self
            .nodes
            .get(&target.server_key)
            .ok_or_else(|| io::Error::from(io::ErrorKind::ConnectionRefused))
            .and_then(connect);
        Box::pin(
            async move { result.map(|pipe| Box::new(SmolConnection(pipe)) as Box<dyn Connection>) },
        )
    }
}
