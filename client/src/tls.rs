//! The rustls client configuration of one server, the same for every
//! runtime: verification always on, the system's roots or a CA file, and a
//! server-name override. Each runtime only wraps its socket with it.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use crate::{ConfigError, TlsSettings};

/// What a runtime's TLS connector needs for one server.
#[derive(Debug, Clone)]
pub struct TlsClient {
    /// The verified client configuration.
    pub config: Arc<ClientConfig>,
    /// The name the server's certificate must carry.
    pub server_name: ServerName<'static>,
}

impl TlsClient {
    /// The configuration for the server `key` at `host`, trusting
    /// `settings`'s CA file or else the system's roots.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the server and the field: an
    /// unreadable or empty CA file, a name that is not a DNS name or an IP
    /// address, no system roots.
    pub fn new(key: &str, host: &str, settings: &TlsSettings) -> Result<Self, ConfigError> {
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
        let config = ClientConfig::builder_with_provider(provider)
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
            config: Arc::new(config),
            server_name,
        })
    }
}
