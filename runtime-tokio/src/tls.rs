//! AMI over TLS with rustls: verification always on, the system's roots or
//! a CA file, and a server-name override.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use apn_ami_client::{
    ConfigError, ConnectFuture, ConnectTarget, Connection, Connector, TlsFailure, TlsSettings,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, RootCertStore};

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
    /// [`ConfigError::Invalid`] naming the server and the field: an
    /// unreadable or empty CA file, a name that is not a DNS name or an IP
    /// address, no system roots.
    pub fn new(
        key: &str,
        host: &str,
        settings: &TlsSettings,
        connect_timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let invalid = |field: &str, reason: String| ConfigError::Invalid {
            server: Some(key.to_owned()),
            field: field.to_owned(),
            reason,
        };
        let mut roots = RootCertStore::empty();
        if let Some(path) = &settings.ca_file {
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|error| invalid("tls.ca_file", format!("{}: {error}", path.display())))?;
            let (added, _ignored) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(invalid(
                    "tls.ca_file",
                    format!("{} holds no usable certificate", path.display()),
                ));
            }
        } else {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(invalid(
                    "tls.ca_file",
                    "no system root certificates found; name a CA file".to_owned(),
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| invalid("tls", error.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = settings.server_name.as_deref().unwrap_or(host);
        let server_name = ServerName::try_from(name.to_owned()).map_err(|error| {
            invalid(
                "tls.server_name",
                format!("`{name}` is not a valid name: {error}"),
            )
        })?;
        Ok(Self {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
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
