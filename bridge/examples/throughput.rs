//! Events per second from flood servers through the bridge into JetStream
//! and out to a consumer, with one and with three workers, beside
//! JetStream's own limit on this machine: one publisher storing the same
//! number of payloads of the same size, 256 in flight. Each configuration
//! gets a fresh `nats-server`. To say where the bound is, it gives the CPU
//! time `nats-server` and this process (the flood servers, the workers and
//! the consumer) used during each run, from `/proc` (Linux).
//!
//! ```sh
//! cargo run --release -p apn-ami-bridge --example throughput
//! ```

use std::net::TcpListener;
use std::time::Duration;

use apn_ami_bridge::local_nats::LocalNats;
use apn_ami_bridge::{BridgeConfig, run};
use apn_ami_sim::serve_flood;
use apn_ami_tokio::{Auth, ClientConfig, Secret, ServerSettings};
use async_nats::jetstream;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::time::Instant;

const SERVERS: usize = 6;
/// Below the flood's pool of distinct events, so none is a duplicate.
const EVENTS_PER_SERVER: u64 = 10_000;

fn flood_servers() -> Vec<ServerSettings> {
    (0..SERVERS)
        .map(|n| {
            let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
            let port = listener.local_addr().expect("bound").port();
            std::thread::spawn(move || serve_flood(&listener, EVENTS_PER_SERVER));
            let mut server = ServerSettings::new(
                &format!("flood-{n}"),
                "127.0.0.1",
                port,
                "flood",
                Secret::new("x"),
            );
            server.auth = Auth::Plain;
            server
        })
        .collect()
}

async fn stored(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(mut stream) => stream.info().await.map_or(0, |info| info.state.messages),
        Err(_) => 0,
    }
}

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`
/// (Linux; 100 ticks a second); `None` elsewhere.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command's closing parenthesis; utime and stime are
    // the 14th and 15th of the whole line.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u32>().ok()? + fields.get(12)?.parse::<u32>().ok()?;
    Some(f64::from(ticks) / 100.0)
}

/// Counts the events stream's messages as a consumer receives them, until
/// `total`; the receiving rate from the first to the last.
async fn consume(js: jetstream::Context, client: async_nats::Client, total: u64) -> f64 {
    let stream = loop {
        if let Ok(stream) = js.get_stream("AMI_BENCH_EVENTS").await {
            break stream;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let consumer = stream
        .create_consumer(jetstream::consumer::push::OrderedConfig {
            deliver_subject: client.new_inbox(),
            ..jetstream::consumer::push::OrderedConfig::default()
        })
        .await
        .expect("a consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut received = 0_u64;
    let mut first = None;
    while received < total {
        match tokio::time::timeout(Duration::from_secs(30), messages.next()).await {
            Ok(Some(Ok(_))) => {
                received += 1;
                first.get_or_insert_with(Instant::now);
            }
            _ => break,
        }
    }
    println!("  consumer received {received} of {total}");
    let seconds = first.map_or(1e-3, |first| first.elapsed().as_secs_f64().max(1e-3));
    counted(received.saturating_sub(1)) / seconds
}

/// Events/s through `workers` bridge workers: stored, from the first
/// stored event to the last, and received by a consumer.
async fn through_bridge(workers: usize) -> (f64, f64) {
    let nats = LocalNats::start().await.expect("nats-server installed");
    let client = ClientConfig::new(flood_servers());
    let mut stops = Vec::new();
    for w in 0..workers {
        let connection = async_nats::connect(nats.url()).await.expect("NATS");
        let mut config = BridgeConfig::new("bench", &format!("w{w}"), client.clone());
        config.lease_ttl = Duration::from_secs(3);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        tokio::spawn(async move {
            if let Err(error) = run(config, connection, async {
                let _either = stopped.await;
            })
            .await
            {
                eprintln!("worker: {error}");
            }
        });
    }
    let reader = async_nats::connect(nats.url()).await.expect("NATS");
    let js = jetstream::new(reader.clone());
    // The floods' events and each server's FullyBooted.
    let total = SERVERS as u64 * (EVENTS_PER_SERVER + 1);
    let consumer = tokio::spawn(consume(js.clone(), reader, total));
    let nats_pid = nats.pid().to_string();
    let cpu_before = (cpu_seconds(&nats_pid), cpu_seconds("self"));
    let mut first: Option<(Instant, u64)> = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    let rate = loop {
        let count = stored(&js, "AMI_BENCH_EVENTS").await;
        let now = Instant::now();
        if count > 0 && first.is_none() {
            first = Some((now, count));
        }
        if count >= total || now > deadline {
            let (start, at_start) = first.unwrap_or((now, 0));
            let seconds = now.duration_since(start).as_secs_f64().max(1e-3);
            println!("  {workers} worker(s): {count} of {total} stored");
            break counted(count - at_start) / seconds;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let received = consumer.await.unwrap_or(0.0);
    if let ((Some(nats_before), Some(self_before)), Some(nats_after), Some(self_after)) =
        (cpu_before, cpu_seconds(&nats_pid), cpu_seconds("self"))
    {
        println!(
            "  CPU during the run: nats-server {:.1} s, this process {:.1} s",
            nats_after - nats_before,
            self_after - self_before
        );
    }
    for stop in stops {
        let _gone = stop.send(());
    }
    (rate, received)
}

/// JetStream's own rate here: one publisher, 256 acks in flight, payloads
/// the size of the bridge's.
async fn jetstream_alone() -> f64 {
    let nats = LocalNats::start().await.expect("nats-server installed");
    let js = jetstream::new(async_nats::connect(nats.url()).await.expect("NATS"));
    js.get_or_create_stream(jetstream::stream::Config {
        name: "RAW".to_owned(),
        subjects: vec!["raw.>".to_owned()],
        ..jetstream::stream::Config::default()
    })
    .await
    .expect("a stream");
    let payload = vec![b'x'; 1_500];
    let total = SERVERS as u64 * EVENTS_PER_SERVER;
    let started = Instant::now();
    let mut acks = FuturesUnordered::new();
    for n in 0..total {
        if acks.len() >= 256 {
            acks.next().await;
        }
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", n.to_string().as_str());
        let ack = js
            .publish_with_headers(format!("raw.{}", n % 6), headers, payload.clone().into())
            .await
            .expect("sent");
        acks.push(ack.into_future());
    }
    while acks.next().await.is_some() {}
    counted(total) / started.elapsed().as_secs_f64()
}

/// A count as a float (counts here are far below 2^52).
fn counted(count: u64) -> f64 {
    f64::from(u32::try_from(count).unwrap_or(u32::MAX))
}

#[tokio::main]
async fn main() {
    println!("{SERVERS} flood servers, {EVENTS_PER_SERVER} events each:");
    let alone = jetstream_alone().await;
    println!("  JetStream alone: {alone:.0} msgs/s");
    for workers in [1, 3] {
        let (rate, received) = through_bridge(workers).await;
        println!(
            "  through the bridge, {workers} worker(s): {rate:.0} events/s stored ({:.0} % of JetStream alone), {received:.0} events/s received by the consumer",
            100.0 * rate / alone
        );
    }
}
