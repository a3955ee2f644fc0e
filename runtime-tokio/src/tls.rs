//! AMI over TLS with rustls: verification always on, the system's roots or
//! a CA file, and a server-name override.

use std::io;
use std::time::Duration;

use apn_ami_client::{
    ConfigError, ConnectFuture, ConnectTarget, Connection, Connector, TlsClient, TlsFailure,
    TlsSettings,
};
use tokio_rustls::rustls::pki_types::ServerName;

use crate::io::{TokioConnection, tcp_connect};

/// TLS over TCP to one server.
#[derive(Clone)]
pub struct TlsConnector {
    connector: tokio_rustls::TlsConnector,
    server_name: ServerName<'static>,
    connect_timeout: Duration,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector")
            .field("server_name", &self.server_name)
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
        let TlsClient {
            config,
            server_name,
        } = TlsClient::new(key, host, settings)?;
        Ok(Self {
            connector: tokio_rustls::TlsConnector::from(config),
            server_name,
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
                let stream = tcp_connect(&address, this.connect_timeout).await?;
                this.connector
                    .connect(this.server_name.clone(), stream)
                    .await
                    .map_err(|error| io::Error::other(TlsFailure(error.to_string())))
            };
            let stream = tokio::time::timeout(this.connect_timeout, handshake)
                .await
                .map_err(|_elapsed| io::Error::from(io::ErrorKind::TimedOut))??;
            Ok(Box::new(TokioConnection(stream)) as Box<dyn Connection>)
        })
    }
}
