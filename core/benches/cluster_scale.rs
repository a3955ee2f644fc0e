//! The cluster's cost per event and per action with 1, 10, 100 and 1,000
//! logged-in servers at the same per-server load: each step of an event
//! batch gives every server one event; each action is routed by the
//! router, written, answered and completed. Flat times across the sizes
//! mean the per-event and per-action work does not grow with the number
//! of servers.
//!
//! Run with `cargo bench -p apn-ami-core --bench cluster_scale`.

use std::time::Instant;

use apn_ami_core::cluster::{Cluster, ClusterConfig, Route, ServerConfig, ServerId};
use apn_ami_core::connection::{AuthMethod, SessionConfig, SubmitOptions};
use apn_ami_core::correlation::ServerKey;
use apn_ami_core::observe::Secret;
use apn_ami_core::protocol::Action;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 4] = [1, 10, 100, 1_000];
const EVENT: &[u8] = b"Event: Newstate\r\nPrivilege: call,all\r\nChannel: PJSIP/100-00000001\r\nChannelState: 5\r\nChannelStateDesc: Ringing\r\nCallerIDNum: 100\r\nUniqueid: 1700000000.1\r\n\r\n";

/// The ActionID in the bytes an action was written as.
fn action_id(bytes: &[u8]) -> Vec<u8> {
    bytes
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"ActionID: "))
        .map(|id| id.strip_suffix(b"\r").unwrap_or(id).to_vec())
        .expect("an ActionID")
}

/// Writes what the server has to write and returns the ActionID in it.
fn written_id(cluster: &mut Cluster) -> (ServerId, Vec<u8>) {
    let (server, bytes) = cluster.poll_transmit().expect("bytes to write");
    let (id, length) = (action_id(bytes), bytes.len());
    cluster.consume(server, length);
    (server, id)
}

fn answer(cluster: &mut Cluster, server: ServerId, id: &[u8], now: Instant) {
    let mut wire = b"Response: Success\r\nActionID: ".to_vec();
    wire.extend_from_slice(id);
    wire.extend_from_slice(b"\r\nPing: Pong\r\n\r\n");
    cluster.handle_input(server, &wire, now);
}

/// `servers` servers, all logged in.
#[allow(clippy::disallowed_methods)] // the bench's single clock read
fn logged_in(servers: usize) -> (Cluster, Instant) {
    let now = Instant::now();
    let configs = (0..servers)
        .map(|n| {
            let mut session = SessionConfig::new(
                ServerKey::new(&format!("pbx{n}")).expect("valid key"),
                "127.0.0.1:5038",
                "admin",
                Secret::new("secret"),
            );
            session.auth = AuthMethod::Plain;
            ServerConfig {
                session,
                address: "127.0.0.1:5038".to_owned(),
            }
        })
        .collect();
    let mut config = ClusterConfig::new(configs);
    config.memory_budget_bytes = usize::MAX / 2;
    let mut cluster = Cluster::new(config, 1, now).expect("valid config");
    cluster.handle_timeout(now);
    while cluster.poll_output().is_some() {}
    for index in 0..servers {
        let server = ServerId(index);
        cluster.handle_connected(server, now);
        cluster.handle_input(server, b"Asterisk Call Manager/11.0.0\r\n", now);
        let (from, id) = written_id(&mut cluster);
        assert_eq!(from, server);
        answer(&mut cluster, server, &id, now);
    }
    while cluster.poll_output().is_some() {}
    while cluster.poll_log().is_some() {}
    (cluster, now)
}

/// One event to every server, each taken out as the runtime does.
fn events_round(cluster: &mut Cluster, servers: usize, now: Instant) -> usize {
    let mut delivered = 0;
    for index in 0..servers {
        cluster.handle_input(ServerId(index), EVENT, now);
        while cluster.poll_control().is_some() {}
        while cluster.poll_event().is_some() {
            delivered += 1;
        }
    }
    delivered
}

/// One action, routed, written, answered and completed.
fn one_action(cluster: &mut Cluster, route: Route<'_>, now: Instant) {
    let ping = Action::new("Ping").expect("valid");
    cluster
        .submit(ping, route, SubmitOptions::default(), now)
        .expect("a healthy server");
    let (server, id) = written_id(cluster);
    answer(cluster, server, &id, now);
    while cluster.poll_output().is_some() {}
}

fn bench_scale(c: &mut Criterion) {
    let mut events = c.benchmark_group("cluster_scale_events");
    for servers in SIZES {
        let (mut cluster, now) = logged_in(servers);
        assert_eq!(events_round(&mut cluster, servers, now), servers);
        // Per event: a round gives each server one event.
        events.throughput(Throughput::Elements(servers as u64));
        events.bench_with_input(BenchmarkId::from_parameter(servers), &servers, |b, &n| {
            b.iter(|| events_round(&mut cluster, n, now));
        });
    }
    events.finish();

    // Round-robin spreads the actions over every server (each action finds
    // a cold server); one server shows the same work with warm caches, so
    // the difference between the two is memory locality, not algorithm.
    for (group, spread) in [
        ("cluster_scale_actions", true),
        ("cluster_scale_actions_one_server", false),
    ] {
        let mut actions = c.benchmark_group(group);
        actions.throughput(Throughput::Elements(1));
        for servers in SIZES {
            let (mut cluster, now) = logged_in(servers);
            let route = if spread {
                Route::Any
            } else {
                Route::Server(ServerId(0))
            };
            one_action(&mut cluster, route, now);
            actions.bench_with_input(BenchmarkId::from_parameter(servers), &servers, |b, _| {
                b.iter(|| one_action(&mut cluster, route, now));
            });
        }
        actions.finish();
    }
}

criterion_group!(benches, bench_scale);
criterion_main!(benches);
