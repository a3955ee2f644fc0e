//! The key-value buckets and the event stream a worker needs, created
//! by whichever worker starts first and opened by the others.
//!
//! Workers of one cluster usually start together (a deployment rolls
//! them out at once), so several create the same bucket at the same
//! moment. JetStream answers an identical create of an existing stream
//! with that stream, but a create that races another one still in
//! progress can be refused ("subjects overlap with an existing stream",
//! error 10065): the other stream already claims the subjects but is
//! not yet there to compare with. That refusal is transient, so a
//! create JetStream refused is tried again after a short pause; a create
//! that is refused for good (a bucket made with other settings) still
//! fails the start, after the last attempt, with JetStream's own words.
//! Anything else (no answer in time, JetStream not enabled, a bad name)
//! fails it at once: waiting would not change it.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::context::{
    CreateKeyValueError, CreateKeyValueErrorKind, CreateStreamError, CreateStreamErrorKind,
};
use async_nats::jetstream::{self, kv};

use crate::BridgeConfig;
use crate::worker::BridgeError;

/// The buckets a worker uses.
pub(crate) struct Buckets {
    /// Who holds each server's lease.
    pub(crate) leases: kv::Store,
    /// Which workers are alive.
    pub(crate) workers: kv::Store,
    /// Each worker's and server's health record.
    pub(crate) health: kv::Store,
}

/// Creates attempted per bucket or stream before a start fails.
const CREATE_ATTEMPTS: u32 = 6;

/// The pause after the first refused create; each later one is longer
/// by as much (50, 100, … 250 ms: 750 ms in all at most).
const CREATE_PAUSE: Duration = Duration::from_millis(50);

/// Creates (or opens, when another worker made it with the same
/// settings) the three buckets and the event stream.
pub(crate) async fn setup(
    config: &BridgeConfig,
    jetstream: &jetstream::Context,
) -> Result<Buckets, BridgeError> {
    let bucket = |name: String, max_age: Duration| kv::Config {
        bucket: name,
        history: 1,
        max_age,
        storage: jetstream::stream::StorageType::File,
        ..kv::Config::default()
    };
    let lease_ttl = config.lease_ttl;
    let refused =
        |error: &CreateKeyValueError| error.kind() == CreateKeyValueErrorKind::BucketCreate;
    let leases = attempt(
        || jetstream.create_key_value(bucket(config.leases_bucket(), lease_ttl)),
        refused,
    )
    .await?;
    let workers = attempt(
        || jetstream.create_key_value(bucket(config.workers_bucket(), lease_ttl)),
        refused,
    )
    .await?;
    let health = attempt(
        || jetstream.create_key_value(bucket(config.health_bucket(), lease_ttl * 3)),
        refused,
    )
    .await?;
    let events = jetstream::stream::Config {
        name: config.events_stream(),
        subjects: vec![format!("ami.{}.events.>", config.cluster)],
        duplicate_window: config.duplicate_window,
        storage: jetstream::stream::StorageType::File,
        ..jetstream::stream::Config::default()
    };
    attempt(
        || jetstream.get_or_create_stream(events.clone()),
        |error: &CreateStreamError| matches!(error.kind(), CreateStreamErrorKind::JetStream(_)),
    )
    .await?;
    Ok(Buckets {
        leases,
        workers,
        health,
    })
}

/// Runs `create` until it succeeds, fails in a way `refused` does not
/// call a refusal, or [`CREATE_ATTEMPTS`] have been refused, pausing
/// between attempts; the last error is the error.
async fn attempt<T, E, F>(
    mut create: impl FnMut() -> F,
    refused: impl Fn(&E) -> bool,
) -> Result<T, BridgeError>
where
    F: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut pause = CREATE_PAUSE;
    for _ in 1..CREATE_ATTEMPTS {
        match create().await {
            Ok(made) => return Ok(made),
            Err(error) if refused(&error) => {
                log::debug!(
                    target: "apn_ami::bridge",
                    "create refused, trying again in {pause:?}: {error}"
                );
            }
            Err(error) => return Err(BridgeError::nats(error)),
        }
        tokio::time::sleep(pause).await;
        pause += CREATE_PAUSE;
    }
    create().await.map_err(BridgeError::nats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_nats::LocalNats;
    use apn_ami_tokio::ClientConfig;

    fn config(cluster: &str, worker: &str, lease_ttl: Duration) -> BridgeConfig {
        let mut config = BridgeConfig::new(cluster, worker, ClientConfig::new(Vec::new()));
        config.lease_ttl = lease_ttl;
        config
    }

    /// Eight workers of one cluster, each on its own connection,
    /// starting at the same instant all get the buckets, 48 times over.
    /// With a single attempt per create, three runs in five of this test
    /// failed here with JetStream's error 10065 (as CI's `many_servers`
    /// test once did); with the retries, none has.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_starting_together_all_get_the_buckets() {
        let Some(nats) = LocalNats::start().await else {
            eprintln!("SKIPPED: nats-server is not installed");
            return;
        };
        let mut contexts = Vec::new();
        for _ in 0..8 {
            let connection = async_nats::connect(nats.url()).await.expect("NATS");
            contexts.push(jetstream::new(connection));
        }
        for round in 0..48 {
            let cluster = format!("c{round}");
            let starts: Vec<_> = contexts
                .iter()
                .enumerate()
                .map(|(worker, jetstream)| {
                    let jetstream = jetstream.clone();
                    let config = config(&cluster, &format!("w{worker}"), Duration::from_secs(5));
                    tokio::spawn(async move { setup(&config, &jetstream).await.map(|_| ()) })
                })
                .collect();
            for start in starts {
                let started = start.await.expect("the start task");
                assert_eq!(started, Ok(()), "cluster {cluster}");
            }
        }
    }

    /// A refusal is tried again, up to the limit; any other failure (no
    /// answer in time, say) ends the start at once. On tokio's paused
    /// clock: the pauses cost no real time.
    #[tokio::test(start_paused = true)]
    async fn only_refusals_are_tried_again() {
        for (refusal, expected_calls) in [(false, 1), (true, CREATE_ATTEMPTS)] {
            let calls = std::cell::Cell::new(0);
            let started = tokio::time::Instant::now();
            let result: Result<(), BridgeError> = attempt(
                || {
                    calls.set(calls.get() + 1);
                    std::future::ready(Err::<(), _>("no answer"))
                },
                |_: &&str| refusal,
            )
            .await;
            assert_eq!(result, Err(BridgeError::Nats("no answer".to_owned())));
            assert_eq!(calls.get(), expected_calls, "refusal: {refusal}");
            let paused = if refusal {
                Duration::from_millis(750)
            } else {
                Duration::ZERO
            };
            assert_eq!(started.elapsed(), paused, "refusal: {refusal}");
        }
    }

    /// A bucket that exists with other settings (here a lease time the
    /// running workers do not use) is refused with JetStream's reason,
    /// not silently shared.
    #[tokio::test]
    async fn a_bucket_made_with_other_settings_fails_the_start() {
        let Some(nats) = LocalNats::start().await else {
            eprintln!("SKIPPED: nats-server is not installed");
            return;
        };
        let connection = async_nats::connect(nats.url()).await.expect("NATS");
        let jetstream = jetstream::new(connection);
        let first = setup(&config("mixed", "w1", Duration::from_secs(5)), &jetstream).await;
        assert!(first.is_ok(), "the first start");
        let again = setup(&config("mixed", "w2", Duration::from_secs(5)), &jetstream).await;
        assert!(again.is_ok(), "a start with the same settings opens them");
        let other = setup(&config("mixed", "w3", Duration::from_secs(9)), &jetstream).await;
        assert!(
            matches!(&other, Err(BridgeError::Nats(reason)) if reason.contains("bucket")),
            "a different lease time: {:?}",
            other.as_ref().err()
        );
    }
}
