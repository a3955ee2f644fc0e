//! In-memory fake Asterisk nodes on tokio's clock: an application tests its
//! own AMI logic against [`FakeAsterisk`](apn_ami_sim::FakeAsterisk) through the real client, with no
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
use std::sync::Arc;
use std::time::Instant;

use apn_ami_client::{ConnectFuture, ConnectTarget, Connection, Connector, SharedConnector};
use apn_ami_sim::SharedNode;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use crate::io::TokioConnection;

/// Bytes the in-memory pipe holds each way (a socket buffer's worth).
const PIPE_BYTES: usize = 256 * 1024;

/// The fake nodes, shared between a test and the tasks serving their
/// connections (see [`SharedNode`]).
pub use apn_ami_sim::SharedNode as FakeNode;

/// Opens a connection to `node`: the client's end of a pipe whose other
/// end a spawned task serves.
///
/// # Errors
/// `ConnectionRefused` while the node refuses connections.
pub fn connect(node: &FakeNode) -> io::Result<DuplexStream> {
    let generation = node.open(now())?;
    let (client, server) = tokio::io::duplex(PIPE_BYTES);
    tokio::spawn(serve(node.clone(), server, generation));
    Ok(client)
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Serves one connection until either side closes it.
async fn serve(node: SharedNode, mut pipe: DuplexStream, generation: u64) {
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
        let timer = async {
            match turn.deadline {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = pipe.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(count) => node.lock().on_bytes(&buffer[..count], now()),
            },
            () = node.changed() => {}
            () = timer => node.lock().handle_timeout(now()),
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
        Box::pin(async move {
            result.map(|pipe| Box::new(TokioConnection(pipe)) as Box<dyn Connection>)
        })
    }
}
