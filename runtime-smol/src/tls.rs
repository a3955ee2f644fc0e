//! AMI over TLS on smol: the shared rustls configuration
//! ([`TlsClient`]) around an async-io TCP stream.

use std::io;
use std::time::Duration;

use apn_ami_client::{
    ConfigError, ConnectFuture, ConnectTarget, Connection, Connector, TlsClient, TlsFailure,
    TlsSettings,
};

use crate::{SmolConnection, tcp_connect, timed_out};

/// TLS over TCP to one server.
#[derive(Clone)]
pub struct TlsConnector {
    tls: TlsClient,
    connect_timeout: Duration,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector")
            .field("server_name", &self.tls.server_name)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// A connector for the server `key` at `host`, trusting `settings`'s CA
    /// file or else the system's roots.
    ///
    /// # Errors
    /// As [`TlsClient::new`].
    pub fn new(
        key: &str,
        host: &str,
        settings: &TlsSettings,
        connect_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            tls: TlsClient::new(key, host, settings)?,
            connect_timeout,
        })
    }
}

impl Connector for TlsConnector {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let address = target.address.clone();
        let this = self.clone();
        Box::pin(async move {
            let handshake = async {
                let stream = tcp_connect(address, this.connect_timeout).await?;
                futures_rustls::TlsConnector::from(this.tls.config.clone())
                    .connect(this.tls.server_name.clone(), stream)
                    .await
                    .map_err(|error| io::Error::other(TlsFailure(error.to_string())))
            };
            let stream = smol::future::or(handshake, timed_out(this.connect_timeout)).await?;
            Ok(Box::new(SmolConnection(stream)) as Box<dyn Connection>)
        })
    }
}
