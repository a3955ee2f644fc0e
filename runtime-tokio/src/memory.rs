//! In-memory fake Asterisk nodes on tokio's clock: an application tests its
//! own AMI logic against [`FakeAsterisk`] through the real client, with no
//! socket, deterministically on tokio's paused clock.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use apn_ami_tokio::memory::{FakeCluster, FakeNode};
//! use apn_ami_tokio::{Action, Client, ClientConfig, Secret, ServerSettings};
//! use apn_ami_sim::NodeConfig;
//!
//! let node = FakeNode::new(NodeConfig::new("app", "s3cret"), 1);
//! let fakes = FakeCluster::new().with_node("pbx-a", node.clone());
//! let server = ServerSettings::new("pbx-a", "fake", 5038, "app", Secret::new("s3cret"));
//! let client = Client::start_with(&ClientConfig::new(vec![server]), fakes.shared()).unwrap();
//! client.ready().await.unwrap();
//! let pong = client.send(Action::new("Ping").unwrap()).await.unwrap();
//! assert!(pong.is_success());
//! client.shutdown().await;
//! assert_eq!(node.stats().logoffs, 1);
//! # }
//! ```

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use apn_ami_client::{ConnectFuture, ConnectTarget, Connection, Connector, SharedConnector};
use apn_ami_sim::{FakeAsterisk, NodeConfig, NodeStats};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::Notify;

use crate::io::TokioConnection;

/// Bytes the in-memory pipe holds each way (a socket buffer's worth).
const PIPE_BYTES: usize = 256 * 1024;

#[derive(Debug)]
struct NodeShared {
    node: Mutex<FakeAsterisk>,
    /// Wakes the serving task after a change from outside.
    changed: Notify,
    refuse: AtomicBool,
    /// Bumped by each connect and each forced drop: a serving task whose
    /// generation is stale stops.
    generation: AtomicU64,
    /// When each connection attempt came, refused ones included.
    attempts: Mutex<Vec<Instant>>,
}

/// One fake Asterisk node, shared between the test and the task that
/// serves its current connection.
#[derive(Debug, Clone)]
pub struct FakeNode {
    shared: Arc<NodeShared>,
}

impl FakeNode {
    /// A node with these settings; `seed` drives its challenges and calls.
    #[must_use]
    pub fn new(config: NodeConfig, seed: u64) -> Self {
        Self {
            shared: Arc::new(NodeShared {
                node: Mutex::new(FakeAsterisk::new(config, seed)),
                changed: Notify::new(),
                refuse: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                attempts: Mutex::new(Vec::new()),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, FakeAsterisk> {
        self.shared
            .node
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the node (mute it, make it send calls, switch its Command
    /// format) and wakes its connection.
    pub fn with<R>(&self, change: impl FnOnce(&mut FakeAsterisk) -> R) -> R {
        let result = change(&mut self.lock());
        self.shared.changed.notify_one();
        result
    }

    /// Refuses (or accepts again) new connections, as a stopped Asterisk.
    pub fn refuse_connections(&self, refuse: bool) {
        self.shared.refuse.store(refuse, Ordering::SeqCst);
    }

    /// Drops the current connection, as a crashed Asterisk.
    pub fn drop_connection(&self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        self.lock().on_disconnect();
        self.shared.changed.notify_one();
    }

    /// When each connection attempt came (tokio's clock), refused ones
    /// included: the client's reconnect pacing, as the server sees it.
    #[must_use]
    pub fn attempts(&self) -> Vec<Instant> {
        self.shared
            .attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// What the node observed.
    #[must_use]
    pub fn stats(&self) -> NodeStats {
        self.lock().stats()
    }

    /// Opens a connection to this node: the client's end of a pipe whose
    /// other end a spawned task serves.
    ///
    /// # Errors
    /// `ConnectionRefused` while the node refuses connections.
    pub fn connect(&self) -> io::Result<DuplexStream> {
        self.shared
            .attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(now());
        if self.shared.refuse.load(Ordering::SeqCst) {
            return Err(io::Error::from(io::ErrorKind::ConnectionRefused));
        }
        let (client, server) = tokio::io::duplex(PIPE_BYTES);
        let generation = self.shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.lock().on_connect(now());
        tokio::spawn(serve(self.clone(), server, generation));
        Ok(client)
    }

    fn is_current(&self, generation: u64) -> bool {
        self.shared.generation.load(Ordering::SeqCst) == generation
    }
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Serves one connection until either side closes it.
async fn serve(node: FakeNode, mut pipe: DuplexStream, generation: u64) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let (out, close, deadline) = {
            let mut fake = node.lock();
            let out = fake.poll_transmit().map(<[u8]>::to_vec);
            if let Some(out) = &out {
                fake.consume(out.len());
            }
            (out, fake.wants_close(), fake.poll_timeout())
        };
        if !node.is_current(generation) {
            break;
        }
        if let Some(out) = out {
            if pipe.write_all(&out).await.is_err() {
                break;
            }
            continue;
        }
        if close {
            break;
        }
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = pipe.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(count) => node.lock().on_bytes(&buffer[..count], now()),
            },
            () = node.shared.changed.notified() => {}
            () = timer => node.lock().handle_timeout(now()),
        }
    }
    if node.is_current(generation) {
        node.lock().on_disconnect();
    }
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
            .and_then(FakeNode::connect);
        Box::pin(async move {
            result.map(|pipe| Box::new(TokioConnection(pipe)) as Box<dyn Connection>)
        })
    }
}
