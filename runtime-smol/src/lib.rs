//! # apn-ami-smol
//!
//! The smol runtime of apn-ami: the same driver (one task owning the core
//! and every connection) and the same application API as `apn-ami-tokio`,
//! on `async-io`'s reactor and timers and `smol`'s executor.
//!
//! ```no_run
//! use apn_ami_smol::{Action, Client, ClientConfig};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     smol::block_on(async {
//!         let config = ClientConfig::from_file("apn-ami.toml".as_ref())?;
//!         let client = Client::start(&config)?;
//!         client.ready().await?;
//!         let pong = client.send(Action::new("Ping")?).await?;
//!         println!("{}", pong.frame().first_value());
//!         client.shutdown().await;
//!         Ok(())
//!     })
//! }
//! ```
//!
//! Not yet here (see the tokio crate): TLS, signal handling and the
//! in-memory fake-node connector.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apn_ami_client::Driver;
pub use apn_ami_client::{
    Auth, ClientConfig, ConfigError, ConnectFuture, ConnectTarget, Connection, Connector,
    EventStream, EventsTaken, Failure, NotReady, ServerEvent, ServerSettings, ServerStatus,
    SharedConnector, Target, Timer, WeakClient,
};
pub use apn_ami_core::connection::SubmitOptions;
pub use apn_ami_core::correlation::{AmiError, Response};
pub use apn_ami_core::health::HealthState;
pub use apn_ami_core::observe::Secret;
pub use apn_ami_core::protocol::{Action, Frame};
use async_io::Async;
use futures_io::{AsyncRead, AsyncWrite};

/// A running client on smol; every method of [`apn_ami_client::Client`]
/// is available on it. Dropping every handle shuts the client down.
#[derive(Debug, Clone)]
pub struct Client {
    inner: apn_ami_client::Client,
}

impl Deref for Client {
    type Target = apn_ami_client::Client;

    fn deref(&self) -> &apn_ami_client::Client {
        &self.inner
    }
}

impl Client {
    /// Checks `config`, spawns the driver on smol's global executor and
    /// returns at once; the servers connect in the background.
    ///
    /// # Errors
    /// [`ConfigError`] naming the server and the field; a server with TLS
    /// settings (not yet supported on smol).
    pub fn start(config: &ClientConfig) -> Result<Self, ConfigError> {
        let resolved = config.resolve()?;
        if let Some(server) = config.servers.iter().find(|server| server.tls.is_some()) {
            return Err(ConfigError::Invalid {
                server: Some(server.key.clone()),
                field: "tls".to_owned(),
                reason: "TLS is not yet supported by apn-ami-smol; use apn-ami-tokio".to_owned(),
            });
        }
        let connector: SharedConnector = Arc::new(TcpConnector::new(resolved.connect_timeout));
        let connectors = vec![connector; resolved.cluster.servers.len()];
        let (inner, driver) = Driver::new(resolved, connectors, SmolTimer::new())?;
        smol::spawn(driver.run()).detach();
        Ok(Self { inner })
    }
}

/// The driver's timer on async-io.
#[derive(Debug)]
struct SmolTimer {
    timer: async_io::Timer,
}

impl SmolTimer {
    fn new() -> Self {
        Self {
            timer: async_io::Timer::never(),
        }
    }
}

impl Timer for SmolTimer {
    #[allow(clippy::disallowed_methods)] // the runtime owns the clock
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn reset(&mut self, deadline: Instant) {
        self.timer.set_at(deadline);
    }

    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.timer).poll(cx).map(drop)
    }
}

/// Any futures-io byte stream as a driver connection.
#[derive(Debug)]
pub struct SmolConnection<S>(pub S);

impl<S> Connection for SmolConnection<S>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
}

/// Plain TCP with `TCP_NODELAY` and a bounded connect time.
#[derive(Debug, Clone)]
pub struct TcpConnector {
    connect_timeout: Duration,
}

impl TcpConnector {
    /// A connector whose connects give up after `connect_timeout`.
    #[must_use]
    pub const fn new(connect_timeout: Duration) -> Self {
        Self { connect_timeout }
    }
}

impl Connector for TcpConnector {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let address = target.address.clone();
        let limit = self.connect_timeout;
        Box::pin(async move {
            let connect = async {
                // Name resolution blocks: off the executor.
                let addresses: Vec<_> =
                    smol::unblock(move || address.to_socket_addrs().map(Iterator::collect)).await?;
                let mut last = io::Error::from(io::ErrorKind::AddrNotAvailable);
                for address in addresses {
                    match Async::<TcpStream>::connect(address).await {
                        Ok(stream) => {
                            stream.get_ref().set_nodelay(true)?;
                            return Ok(stream);
                        }
                        Err(error) => last = error,
                    }
                }
                Err(last)
            };
            let timeout = async {
                async_io::Timer::after(limit).await;
                Err(io::Error::from(io::ErrorKind::TimedOut))
            };
            let stream = smol::future::or(connect, timeout).await?;
            Ok(Box::new(SmolConnection(stream)) as Box<dyn Connection>)
        })
    }
}
