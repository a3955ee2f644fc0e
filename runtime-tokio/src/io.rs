//! The tokio side of the driver: its timer, connections and the TCP
//! connector.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apn_ami_client::{ConnectFuture, ConnectTarget, Connection, Connector, Timer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The driver's timer on tokio's clock (so tokio's paused clock drives it
/// in tests).
#[derive(Debug)]
pub(crate) struct TokioTimer {
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl TokioTimer {
    pub(crate) fn new() -> Self {
        Self {
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }
}

impl Timer for TokioTimer {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn reset(&mut self, deadline: Instant) {
        self.sleep
            .as_mut()
            .reset(tokio::time::Instant::from_std(deadline));
    }

    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.sleep.as_mut().poll(cx)
    }
}

/// Any tokio byte stream as a driver connection.
#[derive(Debug)]
pub struct TokioConnection<S>(pub S);

impl<S> Connection for TokioConnection<S>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        match Pin::new(&mut self.0).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
}

/// Plain TCP, with `TCP_NODELAY` (AMI is request/response) and a bounded
/// connect time.
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

/// Opens a TCP connection within `limit`.
pub(crate) async fn tcp_connect(address: &str, limit: Duration) -> io::Result<TcpStream> {
    let stream = tokio::time::timeout(limit, TcpStream::connect(address))
        .await
        .map_err(|_elapsed| io::Error::from(io::ErrorKind::TimedOut))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl Connector for TcpConnector {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let address = target.address.clone();
        let limit = self.connect_timeout;
        Box::pin(async move {
            let stream = tcp_connect(&address, limit).await?;
            Ok(Box::new(TokioConnection(stream)) as Box<dyn Connection>)
        })
    }
}
