//! A TLS front for the conformance suite: a CA made in the test and a
//! rustls listener before a `TcpNode`, as stunnel or Asterisk's own
//! `tlsenable` would be.

// Test equipment: it panics when the machine cannot make a key or bind.
#![allow(clippy::missing_panics_doc)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

/// A CA: its PEM and what signs with it.
pub struct Authority {
    /// The CA certificate, PEM.
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A fresh CA.
#[must_use]
pub fn authority() -> Authority {
    let key = KeyPair::generate().expect("a key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let pem = params.self_signed(&key).expect("a CA").pem();
    Authority {
        pem,
        issuer: Issuer::new(params, key),
    }
}

/// A TLS listener for `localhost` signed by `ca`, forwarding each
/// connection to `node`; it runs on its own thread and tokio runtime
/// (server-side test equipment, whatever the runtime under test) until the
/// process ends.
#[must_use]
pub fn tls_front(ca: &Authority, node: SocketAddr) -> SocketAddr {
    let key = KeyPair::generate().expect("a key");
    let certificate = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&key, &ca.issuer)
        .expect("a certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("a server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    listener.set_nonblocking(true).expect("non-blocking");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the TLS front");
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener).expect("a tokio listener");
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return; // the client refused our certificate
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(node).await else {
                        return;
                    };
                    // Ends when either side closes.
                    if tokio::io::copy_bidirectional(&mut tls, &mut plain)
                        .await
                        .is_err()
                    {}
                });
            }
        });
    });
    address
}

/// Writes `pem` to a temporary file named after this process and `name`.
#[must_use]
pub fn ca_file(name: &str, pem: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("apn-ami-{}-{name}.pem", std::process::id()));
    std::fs::write(&path, pem).expect("write the CA file");
    path
}
