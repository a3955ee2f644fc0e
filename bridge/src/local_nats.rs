//! A `nats-server` with JetStream on a loopback port, for tests and
//! benchmarks (the bridge's fleet test, its throughput example, an
//! application's own integration tests). Needs the `nats-server` binary
//! on the `PATH` (Debian's package of that name).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `nats-server -js`, killed and its store removed on drop.
#[derive(Debug)]
pub struct LocalNats {
    child: Child,
    port: u16,
    store: PathBuf,
}

impl LocalNats {
    /// Starts one on a free port with a fresh store, or `None` when
    /// `nats-server` is not installed.
    ///
    /// # Panics
    /// When it starts but does not listen within 5 s.
    pub async fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .ok()?
            .port();
        let store = std::env::temp_dir().join(format!("apn-ami-nats-{port}"));
        std::fs::create_dir_all(&store).ok()?;
        let child = spawn(port, &store)?;
        let server = Self { child, port, store };
        listening(port).await;
        Some(server)
    }

    /// Its process id (to read its CPU time, for one).
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills it and starts it again on the same port and store (streams
    /// and buckets survive, connections do not).
    ///
    /// # Panics
    /// When it cannot be started again.
    pub async fn restart(&mut self) {
        self.stop();
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.start_again().await;
    }

    /// Kills it: NATS is away until [`LocalNats::start_again`].
    pub fn stop(&mut self) {
        // Already gone is fine: either way it no longer runs.
        let _gone = self.child.kill();
        let _reaped = self.child.wait();
    }

    /// Starts it again after [`LocalNats::stop`], on the same port and
    /// store.
    ///
    /// # Panics
    /// When it cannot be started again.
    pub async fn start_again(&mut self) {
        self.child = spawn(self.port, &self.store).expect("nats-server starts again");
        listening(self.port).await;
    }
}

impl Drop for LocalNats {
    fn drop(&mut self) {
        self.stop();
        // A store left behind in the temporary directory is harmless.
        let _removed = std::fs::remove_dir_all(&self.store);
    }
}

fn spawn(port: u16, store: &Path) -> Option<Child> {
    Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

async fn listening(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nats-server did not listen on {port}");
}
