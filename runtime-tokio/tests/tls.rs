//! AMI over TLS: a TLS front (rustls, a CA made in the test) before a
//! `TcpNode`, as stunnel or Asterisk's own `tlsenable` would be.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use apn_ami_sim::{NodeConfig, TcpNode};
use apn_ami_tokio::{
    Action, Client, ClientConfig, Failure, NotReady, Secret, ServerSettings, TlsSettings,
};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

/// A CA: its PEM and what signs with it.
struct Authority {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn authority() -> Authority {
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
/// connection to `node`.
async fn tls_front(ca: &Authority, node: SocketAddr) -> SocketAddr {
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
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
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
    address
}

fn ping() -> Action {
    Action::new("Ping").expect("a valid action")
}

fn ca_file(name: &str, pem: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("apn-ami-{}-{name}.pem", std::process::id()));
    std::fs::write(&path, pem).expect("write the CA file");
    path
}

fn tls_server(front: SocketAddr, ca: PathBuf) -> ServerSettings {
    let mut server = ServerSettings::new(
        "tls",
        "127.0.0.1",
        front.port(),
        "app",
        Secret::new("s3cret"),
    );
    server.tls = Some(TlsSettings {
        ca_file: Some(ca),
        server_name: Some("localhost".to_owned()),
    });
    server
}

#[tokio::test]
async fn tls_with_the_right_ca_logs_in_and_a_wrong_ca_is_refused_with_a_typed_error() {
    let node = TcpNode::spawn(NodeConfig::new("app", "s3cret"), 21).expect("node");
    let ca = authority();
    let front = tls_front(&ca, node.address()).await;

    let right = ca_file("right", &ca.pem);
    let client =
        Client::start(&ClientConfig::new(vec![tls_server(front, right.clone())])).expect("valid");
    client.ready().await.expect("logged in over TLS");
    assert!(client.send(ping()).await.expect("answered").is_success());
    client.shutdown().await;

    let wrong = ca_file("wrong", &authority().pem);
    let client =
        Client::start(&ClientConfig::new(vec![tls_server(front, wrong.clone())])).expect("valid");
    match client.ready().await {
        Err(NotReady::AllFailed(reasons)) => match &reasons[0].1 {
            Failure::Tls { reason, .. } => {
                // Both CAs carry rcgen's default name, so rustls finds the
                // issuer by name and refuses its signature.
                assert!(reason.starts_with("invalid peer certificate"), "{reason}");
            }
            other => panic!("expected a TLS failure, got {other:?}"),
        },
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    client.shutdown().await;
    for path in [right, wrong] {
        std::fs::remove_file(path).expect("remove the CA file");
    }
    assert_eq!(node.stop().expect("node thread").logins, 1);
}

#[tokio::test]
async fn an_unreadable_ca_file_is_a_config_error_naming_the_field() {
    let server = tls_server(
        "127.0.0.1:5039".parse().expect("address"),
        PathBuf::from("/nonexistent/ca.pem"),
    );
    let error = Client::start(&ClientConfig::new(vec![server])).expect_err("no CA file");
    let text = error.to_string();
    assert!(
        text.starts_with("server `tls`: field `tls.ca_file`: /nonexistent/ca.pem"),
        "{text}"
    );
}
