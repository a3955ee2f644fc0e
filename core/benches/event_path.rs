//! The whole per-event path in memory — bytes into a logged-in `Cluster`,
//! events out of `poll_event` — on the realistic mix, beside a `memchr`
//! splitter on the same bytes (the floor any client pays to find frames)
//! and the splitter that also copies each frame into its own allocation
//! (the floor of any client that hands out owned frames, as this one does).
//!
//! Run with `cargo bench -p apn-ami-core --bench event_path`; each reports
//! events/s, and a last line gives each one's ns/event and their ratios to
//! the splitter, measured side by side.

use std::hint::black_box;
use std::time::Instant;

use apn_ami_core::cluster::{Cluster, ClusterConfig, ServerConfig, ServerId};
use apn_ami_core::connection::{AuthMethod, SessionConfig};
use apn_ami_core::correlation::ServerKey;
use apn_ami_core::observe::Secret;
use criterion::{Criterion, Throughput, criterion_group};
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

/// The realistic mix's events, the banner left out.
fn event_bytes() -> Vec<u8> {
    let mut stream = mixed_stream::mixed_stream(CALLS);
    let banner_end = stream.iter().position(|&b| b == b'\n').expect("a banner") + 1;
    stream.drain(..banner_end);
    stream
}

fn split(finder: &memmem::Finder<'_>, events: &[u8]) -> usize {
    // The whole stream at once: the splitter's best case.
    finder.find_iter(events).count()
}

/// The splitter, each frame copied into its own allocation (and dropped).
fn split_and_own(finder: &memmem::Finder<'_>, events: &[u8]) -> usize {
    let mut start = 0;
    let mut frames = 0;
    for end in finder.find_iter(events) {
        let frame: Box<[u8]> = events[start..end + 4].into();
        black_box(frame);
        start = end + 4;
        frames += 1;
    }
    frames
}

fn bench_event_path(c: &mut Criterion) {
    let events = &event_bytes();
    let finder = memmem::Finder::new(b"\r\n\r\n");
    assert_eq!(split(&finder, events), EVENTS);
    assert_eq!(split_and_own(&finder, events), EVENTS);
    let (mut cluster, now) = logged_in();
    assert_eq!(through_cluster(&mut cluster, now, events), EVENTS);

    let mut group = c.benchmark_group("event_path");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("memmem_splitter", |b| b.iter(|| split(&finder, events)));
    group.bench_function("memmem_splitter_owned_copies", |b| {
        b.iter(|| split_and_own(&finder, events));
    });
    group.bench_function("cluster_to_poll_event", |b| {
        b.iter(|| through_cluster(&mut cluster, now, events));
    });
    group.finish();
}

/// The per-event ratios themselves, measured side by side: each round
/// times the splitter, the owning splitter and the path on the same bytes
/// back to back, so whatever else the machine is doing weighs on all
/// three; each ratio is the median of the rounds' own ratios.
#[allow(clippy::disallowed_methods)] // the bench's clock
fn side_by_side() {
    const ROUNDS: usize = 31;
    // The splitters are 5–10 times faster: run them as often per round.
    const SPLITS: usize = 10;
    let events = &event_bytes();
    let finder = memmem::Finder::new(b"\r\n\r\n");
    let (mut cluster, now) = logged_in();
    let per_event = |elapsed: std::time::Duration, runs: usize| {
        #[allow(clippy::cast_precision_loss)] // far below 2^52
        let events = (EVENTS * runs) as f64;
        elapsed.as_secs_f64() * 1e9 / events
    };
    let (mut split_ns, mut owned_ns, mut path_ns) = (Vec::new(), Vec::new(), Vec::new());
    let (mut owned_ratios, mut path_ratios) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..SPLITS {
            assert_eq!(black_box(split(&finder, black_box(events))), EVENTS);
        }
        let split = per_event(started.elapsed(), SPLITS);
        let started = Instant::now();
        for _ in 0..SPLITS {
            assert_eq!(split_and_own(&finder, black_box(events)), EVENTS);
        }
        let owned = per_event(started.elapsed(), SPLITS);
        let started = Instant::now();
        assert_eq!(
            through_cluster(&mut cluster, now, black_box(events)),
            EVENTS
        );
        let path = per_event(started.elapsed(), 1);
        split_ns.push(split);
        owned_ns.push(owned);
        path_ns.push(path);
        owned_ratios.push(owned / split);
        path_ratios.push(path / split);
    }
    println!(
        "event_path side by side, medians of {ROUNDS} rounds: memmem_splitter {:.1} ns/event; \
         memmem_splitter_owned_copies {:.1} ns/event, {:.2}x the splitter; \
         cluster_to_poll_event {:.1} ns/event, {:.1}x the splitter (ratios: each round's own)",
        median(&mut split_ns),
        median(&mut owned_ns),
        median(&mut owned_ratios),
        median(&mut path_ns),
        median(&mut path_ratios),
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

criterion_group!(benches, bench_event_path);

fn main() {
    benches();
    // Only when benchmarking (`cargo bench`), not in `cargo test --benches`.
    if std::env::args().any(|arg| arg == "--bench") {
        side_by_side();
    }
    Criterion::default().configure_from_args().final_summary();
}
