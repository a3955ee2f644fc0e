//! Events per second from flood servers through the bridge into JetStream,
//! with one and with three workers, beside JetStream's own limit on this
//! machine: one publisher storing the same number of payloads of the same
//! size, 256 in flight. Each configuration gets a fresh `nats-server`.
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

/// Events/s through `workers` bridge workers, from the first stored event
/// to the last.
async fn through_bridge(workers: usize) -> f64 {
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
    let js = jetstream::new(async_nats::connect(nats.url()).await.expect("NATS"));
    // The floods' events and each server's FullyBooted.
    let total = SERVERS as u64 * (EVENTS_PER_SERVER + 1);
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
    for stop in stops {
        let _gone = stop.send(());
    }
    rate
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
        let rate = through_bridge(workers).await;
        println!(
            "  through the bridge, {workers} worker(s): {rate:.0} events/s ({:.0} % of JetStream alone)",
            100.0 * rate / alone
        );
    }
}
