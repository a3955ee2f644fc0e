//! `apn-ami bench`: the loopback benchmark. A flood server in a child
//! process on 127.0.0.1 writes the realistic event mix (Newchannel,
//! Newstate, VarSet, DialBegin, Hangup; 17–27 headers, 373–625 bytes) as
//! fast as the socket takes it; the client counts the events through
//! `events()`. Beside it, in the same run, a raw socket with a `memmem`
//! splitter reads the same flood (the machine's limit), and Pings are timed
//! one at a time (against a raw socket's round trip; from the thread that
//! blocks on the runtime and from a task on it) and 100 in flight. Each
//! round runs the raw socket, the tokio client and the smol client in turn,
//! so a ratio compares them at the same moment of a noisy machine.

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apn_ami_client::Client;
use apn_ami_tokio::{Action, Auth, ClientConfig, ConfigError, Secret, ServerSettings};
use clap::Args;
use memchr::memmem;

/// What the benchmark measures, and how often.
#[derive(Debug, Clone, Args)]
pub(crate) struct BenchArgs {
    /// Events in each flood.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Pings sent one at a time, per round.
    #[arg(long, default_value_t = 20_000)]
    pings: u64,
    /// Pings sent 100 in flight, per round.
    #[arg(long, default_value_t = 200_000)]
    pipelined: u64,
    /// Rounds of each measurement; medians are printed.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Internal: be the flood server (the benchmark starts itself with it).
    #[arg(long, hide = true)]
    serve_flood: bool,
}

type Settings = BenchArgs;
pub(crate) async fn run(args: BenchArgs) -> u8 {
    if args.serve_flood {
        let events = args.events;
        return match tokio::task::spawn_blocking(move || serve(events)).await {
            Ok(Ok(())) => 0,
            _ => 2,
        };
    }
    match start_and_measure(args).await {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("apn-ami bench: {error}");
            2
        }
    }
}

async fn start_and_measure(settings: BenchArgs) -> Result<(), Error> {
    let mut server = Command::new(std::env::current_exe()?)
        .args([
            "bench",
            "--serve-flood",
            "--events",
            &settings.events.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = server.stdout.take().ok_or("no stdout")?;
    let port = tokio::task::spawn_blocking(move || {
        let mut port = String::new();
        BufReader::new(stdout).read_line(&mut port).map(|_| port)
    })
    .await??;
    let address: SocketAddr = format!("127.0.0.1:{}", port.trim()).parse()?;
    let result = measure(address, &settings).await;
    server.kill()?;
    server.wait()?;
    result
}

/// The child: a flood server on a fresh loopback port, printed on stdout.
fn serve(events: u64) -> Result<(), Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    apn_ami_sim::serve_flood(&listener, events)?;
    Ok(())
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Starts a client on one runtime, as the application's handle.
type Start = fn(&ClientConfig) -> Result<Client, ConfigError>;

fn start_on_tokio(config: &ClientConfig) -> Result<Client, ConfigError> {
    apn_ami_tokio::Client::start(config).map(|client| (*client).clone())
}

fn start_on_smol(config: &ClientConfig) -> Result<Client, ConfigError> {
    apn_ami_smol::Client::start(config).map(|client| (*client).clone())
}

/// One runtime's samples, a value per round.
#[derive(Debug, Default)]
struct ClientSamples {
    flood: Vec<f64>,
    lost: u64,
    /// Pings one at a time from the thread that blocks on the runtime
    /// (`block_on`, as `#[tokio::main]`'s body runs).
    ping: Vec<f64>,
    /// The same from a task spawned on the runtime, beside the driver.
    ping_in_task: Vec<f64>,
    pipelined: Vec<f64>,
}

/// Pings one at a time from a task spawned on the client's runtime.
type PingsInTask = fn(Client, u64) -> Pin<Box<dyn Future<Output = Result<f64, Error>> + Send>>;

fn pings_in_tokio_task(
    client: Client,
    count: u64,
) -> Pin<Box<dyn Future<Output = Result<f64, Error>> + Send>> {
    Box::pin(async move { tokio::spawn(async move { client_pings(&client, count).await }).await? })
}

fn pings_in_smol_task(
    client: Client,
    count: u64,
) -> Pin<Box<dyn Future<Output = Result<f64, Error>> + Send>> {
    Box::pin(smol::spawn(
        async move { client_pings(&client, count).await },
    ))
}

/// One round through a client on one runtime: a flood, then Pings.
async fn client_round(
    (start, pings_in_task): (Start, PingsInTask),
    address: SocketAddr,
    settings: &Settings,
    samples: &mut ClientSamples,
) -> Result<(), Error> {
    let (rate, missing) = client_flood(start, address, settings.events).await?;
    samples.flood.push(rate);
    samples.lost += missing;
    let client = start(&config(address, "ping"))?;
    client.ready().await?;
    samples
        .ping
        .push(client_pings(&client, settings.pings).await?);
    samples
        .ping_in_task
        .push(pings_in_task(client.clone(), settings.pings).await?);
    samples
        .pipelined
        .push(pipelined_pings(&client, settings.pipelined).await?);
    client.shutdown().await;
    Ok(())
}

/// Rounds of the raw socket, the tokio client and the smol client in turn,
/// so that each round compares them at the same moment of a noisy
/// machine: ratios are the medians of each round's own ratio.
async fn measure(address: SocketAddr, settings: &Settings) -> Result<(), Error> {
    let (mut raw_flood_rates, mut raw_ping_rates) = (Vec::new(), Vec::new());
    let (mut on_tokio, mut on_smol) = (ClientSamples::default(), ClientSamples::default());
    for _ in 0..settings.rounds {
        raw_flood_rates.push(raw_flood(address, settings.events)?);
        raw_ping_rates.push(raw_pings(address, settings.pings)?);
        let tokio_client = (start_on_tokio as Start, pings_in_tokio_task as PingsInTask);
        client_round(tokio_client, address, settings, &mut on_tokio).await?;
        let smol_settings = settings.clone();
        on_smol = tokio::task::spawn_blocking(move || {
            smol::block_on(async {
                let smol_client = (start_on_smol as Start, pings_in_smol_task as PingsInTask);
                client_round(smol_client, address, &smol_settings, &mut on_smol).await?;
                Ok::<_, Error>(on_smol)
            })
        })
        .await??;
    }
    let peak_rss = peak_rss_kib();
    println!(
        "loopback benchmark, medians of {} rounds (raw, tokio and smol in turn each round); floods of {} events",
        settings.rounds, settings.events
    );
    println!(
        "raw socket + memmem: {:.0} events/s; Ping one at a time {:.0}/s",
        median(&mut raw_flood_rates.clone()),
        median(&mut raw_ping_rates.clone())
    );
    for (name, samples) in [("tokio", &mut on_tokio), ("smol", &mut on_smol)] {
        let flood_share = median(&mut ratios(&samples.flood, &raw_flood_rates));
        let ping_share = median(&mut ratios(&samples.ping, &raw_ping_rates));
        let task_share = median(&mut ratios(&samples.ping_in_task, &raw_ping_rates));
        println!(
            "{name:>5}: {:.0} events/s ({flood_share:.0} % of raw), {} lost; Ping one at a time {:.0}/s ({ping_share:.0} % of raw) from block_on, {:.0}/s ({task_share:.0} %) from a task on the runtime; Ping 100 in flight {:.0}/s",
            median(&mut samples.flood),
            samples.lost,
            median(&mut samples.ping),
            median(&mut samples.ping_in_task),
            median(&mut samples.pipelined),
        );
    }
    println!(
        "peak RSS of this process (both clients and the raw reader): {:.1} MiB",
        f64::from(peak_rss) / 1024.0
    );
    Ok(())
}

/// Each round's rate as a percentage of the raw socket's in that round.
fn ratios(rates: &[f64], raw: &[f64]) -> Vec<f64> {
    rates
        .iter()
        .zip(raw)
        .map(|(rate, raw)| 100.0 * rate / raw)
        .collect()
}

/// The benchmark's clock: real time, as the machine runs.
#[allow(clippy::disallowed_methods)]
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn per_second(count: u64, started: std::time::Instant) -> f64 {
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
    let started = now();
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

fn config(address: SocketAddr, user: &str) -> ClientConfig {
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
    config
}

/// Events counted through `events()`; returns the rate and how many of
/// the flood never arrived.
///
/// A client whose application lags drops the oldest events (counted in its
/// metrics), so the count may never reach the flood's end: the round then
/// ends after a quiet second, and the rate is that of the events that did
/// arrive, up to the last of them (not the quiet second).
async fn client_flood(start: Start, address: SocketAddr, events: u64) -> Result<(f64, u64), Error> {
    let started = now();
    let client = start(&config(address, "flood"))?;
    let mut stream = client.events()?;
    let expected = events + 1; // FullyBooted and the events
    // Shared by the counter and the watchdog (one task; atomics only
    // because the task may move between threads).
    let received = AtomicU64::new(0);
    let (stamped_count, stamped_nanos) = (AtomicU64::new(0), AtomicU64::new(0));
    let counting = async {
        let mut count = 0;
        while count < expected && stream.next().await.is_some() {
            count += 1;
            received.store(count, Ordering::Relaxed);
            // A clock read every few thousand events (one per event would
            // cost more than the event): the rate is accurate to these.
            if count % STAMP_EVERY == 0 || count == expected {
                let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                stamped_nanos.store(nanos, Ordering::Relaxed);
                stamped_count.store(count, Ordering::Relaxed);
            }
        }
    };
    // async-io's timer runs under either runtime.
    let watchdog = async {
        let mut seen = 0;
        for _ in 0..FLOOD_SECONDS_MAX {
            async_io::Timer::after(Duration::from_secs(1)).await;
            let count = received.load(Ordering::Relaxed);
            if count > 0 && count == seen {
                break;
            }
            seen = count;
        }
    };
    smol::future::or(counting, watchdog).await;
    let count = stamped_count.load(Ordering::Relaxed);
    let seconds = Duration::from_nanos(stamped_nanos.load(Ordering::Relaxed)).as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let rate = if count == 0 {
        0.0
    } else {
        count as f64 / seconds
    };
    client.shutdown().await;
    Ok((rate, expected - received.load(Ordering::Relaxed)))
}

/// Events between two clock reads while a flood is counted.
const STAMP_EVERY: u64 = 4096;
/// The longest a flood may take before the round gives up on it.
const FLOOD_SECONDS_MAX: u32 = 60;

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
    let started = now();
    for id in 0..count {
        write!(stream, "Action: Ping\r\nActionID: {id}\r\n\r\n")?;
        read_frame(&mut stream)?;
    }
    Ok(per_second(count, started))
}

fn ping() -> Action {
    Action::new("Ping").expect("a valid action")
}

async fn client_pings(client: &Client, count: u64) -> Result<f64, Error> {
    client.ready().await?;
    let started = now();
    for _ in 0..count {
        client.send(ping()).await?;
    }
    Ok(per_second(count, started))
}

async fn pipelined_pings(client: &Client, count: u64) -> Result<f64, Error> {
    const IN_FLIGHT: u64 = 100;
    let started = now();
    let workers = (0..IN_FLIGHT).map(|_| async {
        for _ in 0..count / IN_FLIGHT {
            client.send(ping()).await?;
        }
        Ok::<(), apn_ami_tokio::AmiError>(())
    });
    for result in futures_util::future::join_all(workers).await {
        result?;
    }
    Ok(per_second(count, started))
}
