//! Hundreds of servers: two workers share 240 of them through a real
//! `nats-server`, and once the leases have settled a worker's round makes
//! NATS calls only for the leases it renews. No lease is read server by
//! server (the view comes from one watch), so the bucket sees exactly the
//! renewals and nothing per server on top.
//!
//! The servers are not there (a closed port): ownership does not depend on
//! a session being up.
//!
//! Skipped, saying so, when `nats-server` is not installed (`.ci/run`
//! installs it).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apn_ami_bridge::local_nats::LocalNats;
use apn_ami_bridge::ownership::preferred;
use apn_ami_bridge::{BridgeConfig, run};
use apn_ami_tokio::{ClientConfig, Secret, ServerSettings};
use async_nats::jetstream;
use futures_util::StreamExt;

const SERVERS: usize = 240;
const LEASE: Duration = Duration::from_secs(2);

fn client_config() -> ClientConfig {
    // A port nobody listens on: every session fails and backs off.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let servers = (0..SERVERS)
        .map(|n| {
            ServerSettings::new(
                &format!("pbx-{n}"),
                "127.0.0.1",
                port,
                "app",
                Secret::new("s3cret"),
            )
        })
        .collect();
    ClientConfig::new(servers)
}

/// Whether every lease is held by its preferred worker.
async fn settled(leases: &jetstream::kv::Store, live: &BTreeSet<String>) -> bool {
    for n in 0..SERVERS {
        let key = format!("pbx-{n}");
        let Ok(Some(holder)) = leases.get(&key).await else {
            return false;
        };
        if preferred(&key, live) != Some(String::from_utf8_lossy(&holder).as_ref()) {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_costs_only_the_renewals_however_many_servers() {
    let Some(nats) = LocalNats::start().await else {
        eprintln!("SKIPPED: nats-server is not installed");
        return;
    };
    let config = client_config();
    let mut stops = Vec::new();
    let mut tasks = Vec::new();
    for id in ["w1", "w2"] {
        let connection = async_nats::connect(nats.url()).await.expect("NATS");
        let mut bridge = BridgeConfig::new("scale", id, config.clone());
        bridge.lease_ttl = LEASE;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        tasks.push(tokio::spawn(async move {
            run(bridge, connection, async {
                let _either = stopped.await;
            })
            .await
            .expect("the worker runs");
        }));
    }
    let observer = async_nats::connect(nats.url()).await.expect("NATS");
    let js = jetstream::new(observer.clone());
    let live: BTreeSet<String> = ["w1", "w2"].iter().map(|w| (*w).to_owned()).collect();
    let mut leases = None;
    for _ in 0..200 {
        if leases.is_none() {
            leases = js.get_key_value("ami_scale_leases").await.ok();
        }
        if let Some(store) = &leases
            && settled(store, &live).await
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = leases.expect("the leases bucket");
    assert!(
        settled(&store, &live).await,
        "every lease held by its preferred worker"
    );

    // Count, for a few rounds, what reaches the leases bucket: writes
    // (renewals, takes, deletes) and reads (JetStream's message gets).
    let writes = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let mut kv_subjects = observer
        .subscribe("$KV.ami_scale_leases.>")
        .await
        .expect("sub");
    let mut api_subjects = observer.subscribe("$JS.API.>").await.expect("sub");
    let counting = {
        let (writes, reads) = (Arc::clone(&writes), Arc::clone(&reads));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(_) = kv_subjects.next() => { writes.fetch_add(1, Ordering::Relaxed); }
                    Some(message) = api_subjects.next() => {
                        let subject = message.subject.as_str();
                        if subject.contains("GET") && subject.contains("KV_ami_scale_leases") {
                            reads.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    else => break,
                }
            }
        })
    };
    observer.flush().await.expect("subscribed");
    let rounds = 5_u32;
    tokio::time::sleep(LEASE / 5 * rounds).await;
    counting.abort();
    let (writes, reads) = (
        writes.load(Ordering::Relaxed),
        reads.load(Ordering::Relaxed),
    );
    eprintln!("{rounds} rounds, {SERVERS} servers: {writes} lease writes, {reads} lease reads");
    assert_eq!(reads, 0, "no lease is read server by server");
    // Each lease is renewed once a round: about SERVERS writes a round
    // (a round more or less at the window's edges), nothing more.
    let per_round = u64::from(u32::try_from(SERVERS).expect("small"));
    assert!(
        writes >= per_round * u64::from(rounds - 1) && writes <= per_round * u64::from(rounds + 1),
        "{writes} writes in {rounds} rounds"
    );
    assert!(
        settled(&store, &live).await,
        "still held by the same workers"
    );

    for stop in stops {
        let _gone = stop.send(());
    }
    for task in tasks {
        task.await.expect("stopped");
    }
    drop(nats);
}
