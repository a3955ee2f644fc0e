//! `/metrics` over HTTP (hyper): the client's Prometheus text.

use std::convert::Infallible;
use std::net::SocketAddr;

use apn_ami_tokio::WeakClient;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Binds `address` and serves `/metrics` in the background for as long as
/// the client runs. Returns the bound address (port 0 picks one).
pub(crate) async fn serve(address: SocketAddr, client: WeakClient) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    log::info!(target: apn_ami_tokio::TARGET, "serving metrics on http://{bound}/metrics");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let client = client.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request| answer(request, client.clone()));
                if let Err(error) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await
                {
                    log::debug!(target: apn_ami_tokio::TARGET, "metrics connection ended: {error}");
                }
            });
        }
    });
    Ok(bound)
}

async fn answer(
    request: Request<Incoming>,
    client: WeakClient,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        response
    };
    if request.uri().path() != "/metrics" {
        return Ok(reply(StatusCode::NOT_FOUND, "try /metrics\n".to_owned()));
    }
    Ok(match client.upgrade() {
        Some(client) => reply(StatusCode::OK, client.metrics_text().await),
        None => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "the client has stopped\n".to_owned(),
        ),
    })
}
