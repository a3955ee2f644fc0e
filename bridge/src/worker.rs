//! A worker's loop: heartbeat, leases, the servers it owns, the `any`
//! queue group, its health record.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use apn_ami_tokio::{Client, ServerSettings};
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::BridgeConfig;
use crate::buckets::{Buckets, setup};
use crate::lease_view::{LeaseView, Leases};
use crate::ownership::{Decision, decide};
use crate::server::{self, Counters, Shared};
use crate::status::{ServerHealth, WorkerHealth};
use crate::wire::Lookup;

/// Why a worker could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BridgeError {
    /// NATS or JetStream refused or failed.
    #[error("NATS: {0}")]
    Nats(String),
    /// The settings cannot work.
    #[error("bridge settings: {0}")]
    Config(String),
}

impl BridgeError {
    /// A NATS error, as text.
    pub fn nats(error: impl std::fmt::Display) -> Self {
        Self::Nats(error.to_string())
    }
}

/// A server this worker holds the lease of.
struct Owned {
    client: Client,
    counters: Arc<Counters>,
    stop: Option<oneshot::Sender<()>>,
    revision: u64,
    renewed: Instant,
}

/// Runs a worker until `stop` completes, then gives its leases back
/// (sessions logged off first).
///
/// # Errors
/// [`BridgeError`] when the settings are unusable or the buckets and the
/// stream cannot be set up; once running, NATS trouble is waited out.
pub async fn run(
    config: BridgeConfig,
    nats: async_nats::Client,
    stop: impl Future<Output = ()>,
) -> Result<(), BridgeError> {
    check(&config)?;
    let jetstream = jetstream::new(nats.clone());
    let buckets = setup(&config, &jetstream).await?;
    let shared = Arc::new(Shared {
        config,
        nats,
        jetstream,
    });
    let config = &shared.config;
    let servers: BTreeMap<String, ServerSettings> = config
        .client
        .servers
        .iter()
        .map(|server| (server.key.clone(), server.clone()))
        .collect();
    let mut any = shared
        .nats
        .queue_subscribe(
            config.actions_subject("any"),
            format!("ami-{}-workers", config.cluster),
        )
        .await
        .map_err(BridgeError::nats)?;
    let mut lookups = shared
        .nats
        .queue_subscribe(
            config.lookup_subject(),
            format!("ami-{}-workers", config.cluster),
        )
        .await
        .map_err(BridgeError::nats)?;
    let mut owned: BTreeMap<String, Owned> = BTreeMap::new();
    let mut tasks = JoinSet::new();
    let mut answers = FuturesUnordered::new();
    let mut turn = 0_usize;
    let mut tick = tokio::time::interval(config.lease_ttl / 5);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut view = LeaseView::new(config.lease_ttl);
    let mut stop = std::pin::pin!(stop);
    log::info!(target: "apn_ami::bridge", "worker {} of cluster {} started", config.worker, config.cluster);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = tick.tick() => {
                // A round of NATS calls is bounded: while NATS is away
                // they would wait for its timeouts, and the stale leases
                // must still be given up in time.
                let round = config.lease_ttl / 5;
                let evaluated = tokio::time::timeout(round, async {
                    view.ensure_watch(&buckets.leases).await;
                    evaluate(&shared, &buckets, &view.leases, &servers, &mut owned, &mut tasks).await;
                })
                .await;
                if evaluated.is_err() {
                    log::warn!(target: "apn_ami::bridge", "NATS did not answer a round within {round:?}");
                } else if tokio::time::timeout(round, put_health(&shared, &buckets, &owned)).await.is_err() {
                    log::warn!(target: "apn_ami::bridge", "health record not written in time");
                }
                give_up_stale(config, &mut owned).await;
            }
            () = view.next_change(), if view.watching() => {}
            Some(message) = any.next() => {
                let keys: Vec<&String> = owned.keys().collect();
                let server = (!keys.is_empty()).then(|| {
                    turn = turn.wrapping_add(1);
                    let key = keys[turn % keys.len()].clone();
                    let client = owned[&key].client.clone();
                    (key, client)
                });
                answers.push(server::answer_any(Arc::clone(&shared), server, message));
            }
            Some(message) = lookups.next() => {
                answer_lookup(&shared, &servers, &view.leases, message).await;
            }
            Some(()) = answers.next(), if !answers.is_empty() => {}
            Some(ended) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(key) = ended {
                    log::info!(target: "apn_ami::bridge", "server {key} stopped");
                }
            }
        }
    }
    // Give everything back: sessions first, then the leases.
    for (key, mut slot) in std::mem::take(&mut owned) {
        if let Some(stop) = slot.stop.take() {
            let _gone = stop.send(());
        }
        slot.client.shutdown().await;
        if let Err(error) = buckets.leases.delete(&key).await {
            log::warn!(target: "apn_ami::bridge", "lease of {key} not given back: {error}");
        }
    }
    while tasks.join_next().await.is_some() {}
    if let Err(error) = buckets.workers.delete(&shared.config.worker).await {
        log::warn!(target: "apn_ami::bridge", "heartbeat not removed: {error}");
    }
    if let Err(error) = buckets.health.delete(&shared.config.worker).await {
        log::warn!(target: "apn_ami::bridge", "health record not removed: {error}");
    }
    log::info!(target: "apn_ami::bridge", "worker {} stopped", shared.config.worker);
    Ok(())
}

/// Answers where a server stands: in the cluster or not, and which
/// worker holds its lease, as this worker's view shows it.
async fn answer_lookup(
    shared: &Shared,
    servers: &BTreeMap<String, ServerSettings>,
    leases: &Leases,
    message: async_nats::Message,
) {
    let Some(reply) = message.reply else {
        return;
    };
    let key = String::from_utf8_lossy(&message.payload);
    let lookup = Lookup {
        known: servers.contains_key(key.as_ref()),
        holder: leases
            .holder(&key, Instant::now())
            .map(|(holder, _)| holder.to_owned()),
    };
    let payload = serde_json::to_vec(&lookup).unwrap_or_default();
    if let Err(error) = shared.nats.publish(reply, payload.into()).await {
        log::warn!(target: "apn_ami::bridge", "lookup reply not sent: {error}");
    }
}

/// Names must be single subject tokens.
fn check(config: &BridgeConfig) -> Result<(), BridgeError> {
    let token = |text: &str| {
        !text.is_empty()
            && text
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    };
    if !token(&config.cluster) {
        return Err(BridgeError::Config(format!(
            "cluster name {:?}: letters, digits, - and _ only",
            config.cluster
        )));
    }
    if !token(&config.worker) {
        return Err(BridgeError::Config(format!(
            "worker id {:?}: letters, digits, - and _ only",
            config.worker
        )));
    }
    if let Some(server) = config
        .client
        .servers
        .iter()
        .find(|server| !token(&server.key))
    {
        return Err(BridgeError::Config(format!(
            "server key {:?}: letters, digits, - and _ only",
            server.key
        )));
    }
    if config.lease_ttl < Duration::from_secs(1) || config.max_unacked == 0 {
        return Err(BridgeError::Config(
            "lease_ttl ≥ 1 s and max_unacked ≥ 1".to_owned(),
        ));
    }
    Ok(())
}

/// NATS calls to take or renew leases that one round keeps in flight at
/// once: a round then lasts about one call, not one per server.
const CONCURRENT_LEASE_CALLS: usize = 64;

/// One round: heartbeat, who is alive, then each server's lease as the
/// view shows it; NATS calls only to take, renew or give back a lease,
/// the takes and renewals concurrently.
async fn evaluate(
    shared: &Arc<Shared>,
    buckets: &Buckets,
    view: &Leases,
    servers: &BTreeMap<String, ServerSettings>,
    owned: &mut BTreeMap<String, Owned>,
    tasks: &mut JoinSet<String>,
) {
    let config = &shared.config;
    let me = config.worker.as_str();
    if let Err(error) = buckets.workers.put(me, Bytes::from_static(b"alive")).await {
        log::warn!(target: "apn_ami::bridge", "heartbeat failed: {error}");
    }
    let Some(live) = live_workers(&buckets.workers).await else {
        return;
    };
    let now = Instant::now();
    let mut calls = Vec::new();
    for key in servers.keys() {
        // A lease this worker holds is known by its own revision, unless
        // the view shows a newer entry: a renewal of ours whose answer a
        // cut-short round never applied, or another worker's.
        let holder = match (owned.get(key), view.holder(key, now)) {
            (Some(slot), Some((holder, revision))) if revision > slot.revision => {
                Some((holder, revision))
            }
            (Some(slot), _) => Some((me, slot.revision)),
            (None, seen) => seen,
        };
        let revision = holder.map_or(0, |(_, revision)| revision);
        match decide(key, me, &live, holder.map(|(holder, _)| holder)) {
            Decision::Acquire => calls.push((key.clone(), None)),
            Decision::Renew => calls.push((key.clone(), Some(revision))),
            Decision::Release => {
                log::info!(target: "apn_ami::bridge", "handing {key} over");
                stop_owned(owned, key).await;
                if let Err(error) = buckets
                    .leases
                    .delete_expect_revision(key.as_str(), Some(revision))
                    .await
                {
                    log::warn!(target: "apn_ami::bridge", "lease of {key} not given back: {error}");
                }
            }
            Decision::Leave => {
                if owned.contains_key(key) {
                    log::warn!(target: "apn_ami::bridge", "{key} is held by another worker; stopping");
                    stop_owned(owned, key).await;
                }
            }
        }
    }
    // Owned arguments: futures borrowing across the stream trip up the
    // compiler's proof that the worker's future is `Send`.
    let leases = &buckets.leases;
    let value = Bytes::from(me.to_owned());
    let answers: Vec<_> = futures_util::stream::iter(
        calls
            .into_iter()
            .map(|(key, renewing)| lease_call(leases.clone(), value.clone(), key, renewing)),
    )
    .buffer_unordered(CONCURRENT_LEASE_CALLS)
    .collect()
    .await;
    for (key, renewing, answer) in answers {
        let key = &key;
        match (answer, owned.get_mut(key)) {
            (Ok(revision), Some(slot)) => {
                slot.revision = revision;
                slot.renewed = now;
            }
            // Taken, or a lease of ours from before a restart: ours again.
            (Ok(revision), None) => start(shared, key, &servers[key], revision, owned, tasks),
            (Err(error), Some(_)) if renewing => {
                log::warn!(target: "apn_ami::bridge", "lease of {key} lost: {error}");
                stop_owned(owned, key).await;
            }
            // A take refused: another worker was first, or it has not
            // expired yet; the next round tries again if still free.
            (Err(_), _) => {}
        }
    }
}

/// Takes `key`'s lease (`renewing` is `None`) or renews it at the
/// revision given; the key, whether it was a renewal, and the new revision.
async fn lease_call(
    leases: kv::Store,
    value: Bytes,
    key: String,
    renewing: Option<u64>,
) -> (String, bool, Result<u64, String>) {
    let answer = match renewing {
        None => leases
            .create(key.as_str(), value)
            .await
            .map_err(|error| error.to_string()),
        Some(revision) => leases
            .update(key.as_str(), value, revision)
            .await
            .map_err(|error| error.to_string()),
    };
    (key, renewing.is_some(), answer)
}

/// Gives up, session first, every lease not renewed for 3/4 of its life,
/// before it can expire for the other workers. Makes no NATS call, so it
/// works while NATS is away.
async fn give_up_stale(config: &BridgeConfig, owned: &mut BTreeMap<String, Owned>) {
    let now = Instant::now();
    let deadline = config.lease_ttl * 3 / 4;
    let stale: Vec<String> = owned
        .iter()
        .filter(|(_, slot)| now.duration_since(slot.renewed) > deadline)
        .map(|(key, _)| key.clone())
        .collect();
    for key in stale {
        log::warn!(target: "apn_ami::bridge", "lease of {key} not renewed in time; stopping its session");
        stop_owned(owned, &key).await;
    }
}

/// The workers with a heartbeat, or `None` when the bucket is unreadable.
async fn live_workers(workers: &kv::Store) -> Option<BTreeSet<String>> {
    let mut keys = match workers.keys().await {
        Ok(keys) => keys,
        Err(error) => {
            log::warn!(target: "apn_ami::bridge", "live workers unreadable: {error}");
            return None;
        }
    };
    let mut live = BTreeSet::new();
    while let Some(key) = keys.next().await {
        live.insert(key.ok()?);
    }
    Some(live)
}

fn start(
    shared: &Arc<Shared>,
    key: &str,
    settings: &ServerSettings,
    revision: u64,
    owned: &mut BTreeMap<String, Owned>,
    tasks: &mut JoinSet<String>,
) {
    let mut config = shared.config.client.clone();
    config.servers = vec![settings.clone()];
    let client = match Client::start(&config) {
        Ok(client) => client,
        Err(error) => {
            log::error!(target: "apn_ami::bridge", "server {key} cannot start: {error}");
            return;
        }
    };
    log::info!(target: "apn_ami::bridge", "worker {} owns {key}", shared.config.worker);
    let counters = Arc::new(Counters::default());
    let (stop, stopped) = oneshot::channel();
    let host = format!("{}:{}", settings.host, settings.port);
    tasks.spawn(server::serve(
        Arc::clone(shared),
        key.to_owned(),
        host,
        client.clone(),
        Arc::clone(&counters),
        stopped,
    ));
    owned.insert(
        key.to_owned(),
        Owned {
            client,
            counters,
            stop: Some(stop),
            revision,
            renewed: Instant::now(),
        },
    );
}

/// Stops a server's session and waits for its logoff.
async fn stop_owned(owned: &mut BTreeMap<String, Owned>, key: &str) {
    if let Some(mut slot) = owned.remove(key) {
        if let Some(stop) = slot.stop.take() {
            let _gone = stop.send(());
        }
        slot.client.shutdown().await;
    }
}

async fn put_health(shared: &Shared, buckets: &Buckets, owned: &BTreeMap<String, Owned>) {
    let mut servers = Vec::new();
    for (key, slot) in owned {
        let status = slot.client.health().await;
        let status = status.first();
        servers.push(ServerHealth {
            key: key.clone(),
            health: status.map_or_else(|| "Unknown".to_owned(), |s| format!("{:?}", s.health)),
            pending: status.map_or(0, |s| s.pending),
            reconnects: status.map_or(0, |s| s.reconnects),
            published: slot.counters.published.load(Ordering::Relaxed),
            publish_failures: slot.counters.publish_failures.load(Ordering::Relaxed),
            dropped_events: status.map_or(0, |s| s.dropped_events),
            requests: slot.counters.requests.load(Ordering::Relaxed),
        });
    }
    // The record's wall-clock time, for operators reading it.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now();
    let record = WorkerHealth {
        worker: shared.config.worker.clone(),
        at_ms: now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            }),
        servers,
    };
    let payload = serde_json::to_vec(&record).unwrap_or_default();
    if let Err(error) = buckets
        .health
        .put(&shared.config.worker, payload.into())
        .await
    {
        log::warn!(target: "apn_ami::bridge", "health record not written: {error}");
    }
}
