//! The loopback benchmark: a flood server in a child process on 127.0.0.1
//! writes the realistic event mix as fast as the socket takes it; the client
//! counts the events through `events()`. Beside it, in the same run, a raw
//! socket with a `memmem` splitter reads the same flood (the machine's
//! limit), and Pings are timed one at a time (against a raw socket's round
//! trip) and with 100 in flight.
//!
//! ```sh
//! cargo run --release -p apn-ami-tokio --example loopback_bench
//! cargo run --release -p apn-ami-tokio --example loopback_bench -- --events 200000 --rounds 5
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use apn_ami_tokio::{Action, Auth, Client, ClientConfig, Secret, ServerSettings};
use memchr::memmem;
use tokio::time::Instant;

struct Settings {
    events: u64,
    pings: u64,
    pipelined: u64,
    rounds: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return serve(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(200_000));
    }
    let value = |name: &str, default: u64| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|at| args.get(at + 1)?.parse().ok())
            .unwrap_or(default)
    };
    let settings = Settings {
        events: value("--events", 200_000),
        pings: value("--pings", 20_000),
        pipelined: value("--pipelined", 200_000),
        rounds: usize::try_from(value("--rounds", 5)).unwrap_or(5),
    };
    let mut server = Command::new(std::env::current_exe()?)
        .args(["--serve", &settings.events.to_string()])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut port = String::new();
    BufReader::new(server.stdout.take().ok_or("no stdout")?).read_line(&mut port)?;
    let address: SocketAddr = format!("127.0.0.1:{}", port.trim()).parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // On a worker, like an application's tasks, not on the blocked main
    // thread: every answer would otherwise cross threads twice.
    let result = runtime
        .block_on(
            runtime
                .spawn(async move { measure(address, &settings).await.map_err(|e| e.to_string()) }),
        )
        .map_err(|error| error.to_string())
        .and_then(|result| result);
    server.kill()?;
    server.wait()?;
    Ok(result?)
}

/// The child: a flood server on a fresh loopback port, printed on stdout.
fn serve(events: u64) -> Result<(), Box<dyn std::error::Error>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    apn_ami_sim::serve_flood(&listener, events)?;
    Ok(())
}

#[derive(Default)]
struct Samples {
    raw_flood: Vec<f64>,
    client_flood: Vec<f64>,
    raw_ping: Vec<f64>,
    client_ping: Vec<f64>,
    pipelined: Vec<f64>,
}

async fn measure(
    address: SocketAddr,
    settings: &Settings,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut samples = Samples::default();
    let mut lost = 0;
    for _ in 0..settings.rounds {
        samples.raw_flood.push(raw_flood(address, settings.events)?);
        let (rate, missing) = client_flood(address, settings.events).await?;
        samples.client_flood.push(rate);
        lost += missing;
    }
    let peak_rss = peak_rss_kib();
    let client = start(address, "ping")?;
    for _ in 0..settings.rounds {
        samples.raw_ping.push(raw_pings(address, settings.pings)?);
        samples
            .client_ping
            .push(client_pings(&client, settings.pings).await?);
        samples
            .pipelined
            .push(pipelined_pings(&client, settings.pipelined).await?);
    }
    client.shutdown().await;

    let raw_flood = median(&mut samples.raw_flood);
    let client_flood = median(&mut samples.client_flood);
    let raw_ping = median(&mut samples.raw_ping);
    let client_ping = median(&mut samples.client_ping);
    let pipelined = median(&mut samples.pipelined);
    println!("loopback benchmark, medians of {} rounds", settings.rounds);
    println!(
        "flood of {} events: client {:.0} events/s, raw socket + memmem {:.0} events/s ({:.0} %)",
        settings.events,
        client_flood,
        raw_flood,
        100.0 * client_flood / raw_flood
    );
    println!("events lost over all rounds: {lost}");
    println!(
        "peak RSS of this process (client and raw reader): {:.1} MiB",
        f64::from(peak_rss) / 1024.0
    );
    println!(
        "Ping one at a time: client {:.0}/s, raw socket {:.0}/s ({:.0} %)",
        client_ping,
        raw_ping,
        100.0 * client_ping / raw_ping
    );
    println!("Ping with 100 in flight: {pipelined:.0}/s");
    Ok(())
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn per_second(count: u64, started: Instant) -> f64 {
    count as f64 / started.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn login(stream: &mut TcpStream, user: &str) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    write!(
        stream,
        "Action: Login\r\nUsername: {user}\r\nSecret: x\r\nActionID: 1\r\n\r\n"
    )
}

/// Frames read by a raw socket with a `memmem` splitter: the machine's
/// limit for this flood.
fn raw_flood(address: SocketAddr, events: u64) -> std::io::Result<f64> {
    let mut stream = TcpStream::connect(address)?;
    let started = Instant::now();
    login(&mut stream, "flood")?;
    let finder = memmem::Finder::new(b"\r\n\r\n");
    let mut buffer = vec![0u8; 64 * 1024];
    // The login answer, FullyBooted and the events.
    let expected = events + 2;
    let (mut frames, mut carry) = (0, Vec::with_capacity(6));
    while frames < expected {
        let count = stream.read(&mut buffer)?;
        if count == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let chunk = &buffer[..count];
        frames += finder.find_iter(chunk).count() as u64;
        // Separators split across two reads start in the carried bytes.
        let carried = carry.len();
        carry.extend_from_slice(&chunk[..count.min(3)]);
        frames += finder.find_iter(&carry).filter(|&at| at < carried).count() as u64;
        carry.clear();
        carry.extend_from_slice(&chunk[count.saturating_sub(3)..]);
    }
    Ok(per_second(events, started))
}

fn start(address: SocketAddr, user: &str) -> Result<Client, Box<dyn std::error::Error>> {
    let mut server = ServerSettings::new(
        "bench",
        &address.ip().to_string(),
        address.port(),
        user,
        Secret::new("x"),
    );
    server.auth = Auth::Plain;
    let mut config = ClientConfig::new(vec![server]);
    config.seed = Some(1);
    Ok(Client::start(&config)?)
}

/// Events counted through `events()`; returns the rate and how many of
/// the flood never arrived.
async fn client_flood(
    address: SocketAddr,
    events: u64,
) -> Result<(f64, u64), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let client = start(address, "flood")?;
    let mut stream = client.events()?;
    let expected = events + 1; // FullyBooted and the events
    let mut received = 0;
    while received < expected {
        match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
            Ok(Some(_event)) => received += 1,
            _ => break,
        }
    }
    let rate = per_second(received, started);
    client.shutdown().await;
    Ok((rate, expected - received))
}

/// Pings one at a time over a raw socket: the loopback round trip.
fn raw_pings(address: SocketAddr, count: u64) -> std::io::Result<f64> {
    let mut stream = TcpStream::connect(address)?;
    login(&mut stream, "ping")?;
    let finder = memmem::Finder::new(b"\r\n\r\n");
    let mut buffer = vec![0u8; 4096];
    let mut read_frame = |stream: &mut TcpStream| -> std::io::Result<()> {
        let mut filled = 0;
        loop {
            let got = stream.read(&mut buffer[filled..])?;
            if got == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            filled += got;
            if finder.find(&buffer[..filled]).is_some() {
                return Ok(());
            }
        }
    };
    read_frame(&mut stream)?; // the banner line and the login answer
    let started = Instant::now();
    for id in 0..count {
        write!(stream, "Action: Ping\r\nActionID: {id}\r\n\r\n")?;
        read_frame(&mut stream)?;
    }
    Ok(per_second(count, started))
}

fn ping() -> Action {
    Action::new("Ping").expect("a valid action")
}

async fn client_pings(client: &Client, count: u64) -> Result<f64, Box<dyn std::error::Error>> {
    client.ready().await?;
    let started = Instant::now();
    for _ in 0..count {
        client.send(ping()).await?;
    }
    Ok(per_second(count, started))
}

async fn pipelined_pings(client: &Client, count: u64) -> Result<f64, Box<dyn std::error::Error>> {
    const IN_FLIGHT: u64 = 100;
    let started = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..count / IN_FLIGHT {
                    client.send(ping()).await?;
                }
                Ok::<(), apn_ami_tokio::AmiError>(())
            })
        })
        .collect();
    for worker in workers {
        worker.await??;
    }
    Ok(per_second(count, started))
}
