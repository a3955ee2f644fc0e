//! The whole per-event path in memory — bytes into a logged-in `Cluster`,
//! events out of `poll_event` — on the realistic mix, beside a `memchr`
//! splitter on the same bytes (the floor any client pays to find frames).
//!
//! Run with `cargo bench -p apn-ami-core --bench event_path`; both report
//! events/s, so the ratio of their times per event is read off side by side.

use std::time::Instant;

use apn_ami_core::cluster::{Cluster, ClusterConfig, ServerConfig, ServerId};
use apn_ami_core::connection::{AuthMethod, SessionConfig};
use apn_ami_core::correlation::ServerKey;
use apn_ami_core::observe::Secret;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use memchr::memmem;

#[path = "../tests/support/mixed_stream.rs"]
mod mixed_stream;

const CHUNK: usize = 64 * 1024;
const CALLS: usize = 2_000;
const EVENTS: usize = CALLS * 5;

/// A one-server cluster logged in through a scripted exchange.
#[allow(clippy::disallowed_methods)] // the bench's single clock read
fn logged_in() -> (Cluster, Instant) {
    let now = Instant::now();
    let mut session = SessionConfig::new(
        ServerKey::new("pbx1").expect("valid key"),
        "127.0.0.1:5038",
        "admin",
        Secret::new("secret"),
    );
    session.auth = AuthMethod::Plain;
    session.event_queue_capacity = EVENTS * 2;
    let mut cluster = Cluster::new(
        ClusterConfig::new(vec![ServerConfig {
            session,
            address: "127.0.0.1:5038".to_owned(),
        }]),
        1,
        now,
    )
    .expect("valid config");
    let server = ServerId(0);
    cluster.handle_timeout(now);
    while cluster.poll_output().is_some() {}
    cluster.handle_connected(server, now);
    cluster.handle_input(server, b"Asterisk Call Manager/11.0.0\r\n", now);
    let login = cluster
        .poll_transmit()
        .map(|(_, bytes)| bytes.to_vec())
        .expect("the login");
    cluster.consume(server, login.len());
    let id = login
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"ActionID: "))
        .map(|id| id.strip_suffix(b"\r").unwrap_or(id).to_vec())
        .expect("an ActionID");
    let mut answer = b"Response: Success\r\nActionID: ".to_vec();
    answer.extend_from_slice(&id);
    answer.extend_from_slice(b"\r\nMessage: Authentication accepted\r\n\r\n");
    cluster.handle_input(server, &answer, now);
    while cluster.poll_output().is_some() {}
    (cluster, now)
}

fn through_cluster(cluster: &mut Cluster, now: Instant, events: &[u8]) -> usize {
    let mut delivered = 0;
    for chunk in events.chunks(CHUNK) {
        cluster.handle_input(ServerId(0), chunk, now);
        while cluster.poll_control().is_some() {}
        while cluster.poll_event().is_some() {
            delivered += 1;
        }
    }
    delivered
}

fn split(finder: &memmem::Finder<'_>, events: &[u8]) -> usize {
    // The whole stream at once: the splitter's best case.
    finder.find_iter(events).count()
}

fn bench_event_path(c: &mut Criterion) {
    let stream = mixed_stream::mixed_stream(CALLS);
    let banner_end = stream.iter().position(|&b| b == b'\n').expect("a banner") + 1;
    let events = &stream[banner_end..];
    let finder = memmem::Finder::new(b"\r\n\r\n");
    assert_eq!(split(&finder, events), EVENTS);
    let (mut cluster, now) = logged_in();
    assert_eq!(through_cluster(&mut cluster, now, events), EVENTS);

    let mut group = c.benchmark_group("event_path");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("memmem_splitter", |b| b.iter(|| split(&finder, events)));
    group.bench_function("cluster_to_poll_event", |b| {
        b.iter(|| through_cluster(&mut cluster, now, events));
    });
    group.finish();
}

criterion_group!(benches, bench_event_path);
criterion_main!(benches);
