//! The conformance suite, run against every runtime. A runtime joins with
//! an impl of `Runtime` and one `conformance_suite!` line.

use std::future::Future;
use std::time::Duration;

use apn_ami_client::{Client, ClientConfig, ConfigError};
use apn_ami_conformance::conformance_suite;
use apn_ami_conformance::runtime_suite::{BoxFuture, Runtime};
use apn_ami_sim::SharedNode;

/// tokio, multi-threaded with two workers.
struct Tokio;

impl Runtime for Tokio {
    fn block_on<F: Future<Output = ()> + Send + 'static>(test: F) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        // Spawned, so the test runs on a worker like an application task.
        runtime
            .block_on(async move { tokio::spawn(test).await })
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
    }

    fn start(config: &ClientConfig) -> Result<Client, ConfigError> {
        apn_ami_tokio::Client::start(config).map(|client| (*client).clone())
    }

    fn start_in_memory(
        config: &ClientConfig,
        nodes: &[(&str, SharedNode)],
    ) -> Result<Client, ConfigError> {
        use apn_ami_tokio::memory::FakeCluster;
        let fakes = nodes.iter().fold(FakeCluster::new(), |fakes, (key, node)| {
            fakes.with_node(key, node.clone())
        });
        apn_ami_tokio::Client::start_with(config, fakes.shared()).map(|client| (*client).clone())
    }

    fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> BoxFuture<T> {
        let handle = tokio::spawn(task);
        Box::pin(async move {
            handle
                .await
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
        })
    }

    fn sleep(duration: Duration) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// smol's global executor and async-io's reactor.
struct Smol;

impl Runtime for Smol {
    fn block_on<F: Future<Output = ()> + Send + 'static>(test: F) {
        smol::block_on(smol::spawn(test));
    }

    fn start(config: &ClientConfig) -> Result<Client, ConfigError> {
        apn_ami_smol::Client::start(config).map(|client| (*client).clone())
    }

    fn start_in_memory(
        config: &ClientConfig,
        nodes: &[(&str, SharedNode)],
    ) -> Result<Client, ConfigError> {
        use apn_ami_smol::memory::FakeCluster;
        let fakes = nodes.iter().fold(FakeCluster::new(), |fakes, (key, node)| {
            fakes.with_node(key, node.clone())
        });
        apn_ami_smol::Client::start_with(config, fakes.shared()).map(|client| (*client).clone())
    }

    fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> BoxFuture<T> {
        Box::pin(smol::spawn(task))
    }

    fn sleep(duration: Duration) -> BoxFuture<()> {
        Box::pin(async move {
            smol::Timer::after(duration).await;
        })
    }
}

conformance_suite!(tokio_runtime, Tokio);
conformance_suite!(smol_runtime, Smol);
