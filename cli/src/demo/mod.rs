//! `apn-ami demo`: fake Asterisk nodes on 127.0.0.1 (real TCP), a real
//! client against all of them, realistic traffic, scripted trouble, and a
//! closing check that every action ended exactly once.

mod script;
mod view;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apn_ami_core::connection::SessionState;
use apn_ami_core::typed::actions::{self, AmiAction};
use apn_ami_sim::{CommandFormat, NodeConfig, TcpNode};
use apn_ami_tokio::{
    AmiError, Auth, Client, ClientConfig, HealthState, Secret, ServerSettings, ServerStatus,
};
use clap::Args;
use tokio::time::Instant;

use script::{Step, Trouble};
use view::{Row, View};

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Fake Asterisk nodes (2 to 16).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(2..=16))]
    nodes: u16,
    /// How long the demo runs.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=3600))]
    seconds: u64,
    /// Decides which node suffers what, and the client's jitter: the same
    /// seed runs the same script.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// One JSON object per line instead of the table.
    #[arg(long)]
    json: bool,
    /// Serve the client's metrics at `http://ADDR/metrics`.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
}

const USER: &str = "demo";
const SECRET: &str = "demo-secret";
/// Calls a second each node makes (five events a call).
const CALLS_PER_SECOND: u64 = 20;
/// Events the demo's application handles a second: slower than a flood.
const APP_EVENTS_PER_SECOND: u64 = 4_000;

/// How every action the demo sent ended, counted by the demo itself.
#[derive(Debug, Default)]
struct Tally {
    submitted: AtomicU64,
    outcomes: Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    fn record(&self, result: &Result<apn_ami_tokio::Response, AmiError>) {
        let outcome = match result {
            Ok(response) if response.is_success() => "success".to_owned(),
            Ok(_) => "error response".to_owned(),
            Err(AmiError::Timeout { .. }) => "timeout".to_owned(),
            Err(AmiError::Rejected { .. }) => "rejected".to_owned(),
            Err(other) => other.to_string(),
        };
        *self
            .outcomes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(outcome)
            .or_default() += 1;
    }

    fn ended(&self) -> u64 {
        self.outcomes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }
}

/// The nodes, each slot `None` while its node is killed.
type Nodes = Arc<Mutex<Vec<Option<TcpNode>>>>;

fn lock(nodes: &Nodes) -> std::sync::MutexGuard<'_, Vec<Option<TcpNode>>> {
    nodes.lock().unwrap_or_else(PoisonError::into_inner)
}

fn node_config(index: usize) -> NodeConfig {
    let mut config = NodeConfig::new(USER, SECRET);
    "22.10.1".clone_into(&mut config.version);
    config.list_items = 5;
    config.login_failure_delay = Duration::from_millis(200);
    // Half the nodes answer Command the way Asterisk 13 did.
    if index % 2 == 1 {
        config.command_format = CommandFormat::Legacy;
    }
    config
}

fn client_config(addresses: &[SocketAddr], seed: u64) -> ClientConfig {
    let servers = addresses
        .iter()
        .enumerate()
        .map(|(index, address)| {
            let mut server = ServerSettings::new(
                &format!("node-{}", index + 1),
                &address.ip().to_string(),
                address.port(),
                USER,
                Secret::new(SECRET),
            );
            server.auth = if index % 2 == 0 {
                Auth::Md5
            } else {
                Auth::Plain
            };
            server
        })
        .collect();
    let mut config = ClientConfig::new(servers);
    config.seed = Some(seed);
    config.session.heartbeat_interval = Some(Duration::from_secs(2));
    config.session.heartbeat_timeout = Some(Duration::from_secs(1));
    config.session.heartbeat_max_misses = Some(2);
    config.session.login_timeout = Some(Duration::from_secs(3));
    config.session.action_timeout = Some(Duration::from_secs(3));
    config.session.event_queue_capacity = Some(2_000);
    config.reconnect.backoff_base = Some(Duration::from_millis(300));
    config.reconnect.backoff_cap = Some(Duration::from_secs(3));
    config.reconnect.breaker_cooldown = Some(Duration::from_secs(2));
    config.reconnect.breaker_max_cooldown = Some(Duration::from_secs(4));
    config
}

/// How a demo run ended.
enum Ending {
    /// It ran its course; `true` when every action ended exactly once.
    Checked(bool),
    /// Ctrl-C or SIGTERM: the client logged off; the summary was printed.
    Interrupted,
}

pub(crate) async fn run(args: DemoArgs) -> u8 {
    match demo(args).await {
        Ok(Ending::Checked(true)) => 0,
        Ok(Ending::Checked(false)) => 1,
        Ok(Ending::Interrupted) => 130,
        Err(error) => {
            eprintln!("apn-ami demo: {error}");
            2
        }
    }
}

/// Starts the fake nodes.
fn start_nodes(count: usize, seed: u64) -> Result<(Nodes, Vec<SocketAddr>), String> {
    let mut spawned = Vec::with_capacity(count);
    for index in 0..count {
        let node = TcpNode::spawn(node_config(index), seed + index as u64)
            .map_err(|error| format!("cannot start a fake node: {error}"))?;
        spawned.push(node);
    }
    let addresses = spawned.iter().map(TcpNode::address).collect();
    Ok((
        Arc::new(Mutex::new(spawned.into_iter().map(Some).collect())),
        addresses,
    ))
}

async fn demo(args: DemoArgs) -> Result<Ending, String> {
    let count = usize::from(args.nodes);
    let length = Duration::from_secs(args.seconds);
    let mut view = View::new(args.json);
    let (nodes, addresses) = start_nodes(count, args.seed)?;
    let client = Client::start(&client_config(&addresses, args.seed)).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let listed: Vec<String> = addresses.iter().map(ToString::to_string).collect();
    view.log(
        Duration::ZERO,
        &format!(
            "{count} fake Asterisk nodes on {}; seed {}; {}s",
            listed.join(", "),
            args.seed,
            args.seconds
        ),
    );
    if let Some(address) = args.metrics_listen {
        let bound = crate::metrics_http::serve(address, client.downgrade())
            .await
            .map_err(|error| format!("cannot serve metrics on {address}: {error}"))?;
        view.log(
            Duration::ZERO,
            &format!("metrics at http://{bound}/metrics"),
        );
    }
    let signals = client.shutdown_on_signals();
    if let Err(error) = client.ready().await {
        return Err(format!("the client could not log in: {error}"));
    }
    let tally = Arc::new(Tally::default());
    let delivered = Arc::new(Mutex::new(HashMap::<String, u64>::new()));
    let consumer = tokio::spawn(consume(client.clone(), Arc::clone(&delivered)));
    let traffic = tokio::spawn(traffic(
        client.clone(),
        Arc::clone(&tally),
        started + length,
    ));
    let mut steps = script::script(args.seed, count, length)
        .into_iter()
        .peekable();
    let mut previous: Vec<ServerStatus> = Vec::new();
    let mut last = Snapshot::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut ticks = 0u64;
    while started.elapsed() < length && signals.received().is_none() {
        tick.tick().await;
        ticks += 1;
        let at = started.elapsed();
        while let Some(step) = steps.next_if(|step| step.at <= at) {
            apply(&nodes, &addresses, step, args.seed).await;
            let what = format!("script: node-{} {}", step.node + 1, step.trouble.describe());
            view.log(at, &what);
        }
        for node in lock(&nodes).iter().flatten() {
            node.control(|fake| fake.generate_calls(CALLS_PER_SECOND));
        }
        let statuses = client.health().await;
        narrate(&mut view, at, &previous, &statuses);
        let snapshot = Snapshot::take(&client, &delivered).await;
        view.table(at, &snapshot.rows(&last, &statuses), ticks);
        last = snapshot;
        previous = statuses;
    }
    traffic.abort();
    let interrupted = signals.received().is_some();
    let ok = finish(&mut view, &client, &tally, started, interrupted).await;
    consumer.abort();
    let stopped: Vec<TcpNode> = lock(&nodes).iter_mut().filter_map(Option::take).collect();
    tokio::task::spawn_blocking(move || stopped.into_iter().for_each(|node| drop(node.stop())))
        .await
        .map_err(|error| error.to_string())?;
    Ok(if interrupted {
        Ending::Interrupted
    } else {
        Ending::Checked(ok)
    })
}

/// Waits (bounded) for the actions in flight to end; shuts down (which
/// ends any still out); checks the counters and summarises.
async fn finish(
    view: &mut View,
    client: &Client,
    tally: &Tally,
    started: Instant,
    interrupted: bool,
) -> bool {
    for _ in 0..100 {
        if tally.ended() >= tally.submitted.load(Ordering::Relaxed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client.shutdown().await;
    let after_shutdown = client.metrics_text().await;
    summary(view, tally, &after_shutdown, started.elapsed(), interrupted)
}

/// Applies one scripted change.
async fn apply(nodes: &Nodes, addresses: &[SocketAddr], step: Step, seed: u64) {
    let index = step.node;
    match step.trouble {
        Trouble::Kill => {
            let node = lock(nodes)[index].take();
            if let Some(node) = node {
                // Joining the node's thread blocks for a few milliseconds.
                let stopped = tokio::task::spawn_blocking(move || node.stop()).await;
                if stopped.is_err() {
                    log::warn!(target: apn_ami_tokio::TARGET, "a fake node's thread panicked");
                }
            }
        }
        Trouble::Restart => {
            match TcpNode::spawn_at(addresses[index], node_config(index), seed ^ 0xdead) {
                Ok(node) => lock(nodes)[index] = Some(node),
                Err(error) => log::warn!(target: apn_ami_tokio::TARGET, "restart failed: {error}"),
            }
        }
        Trouble::Mute | Trouble::Unmute => {
            let mute = step.trouble == Trouble::Mute;
            if let Some(node) = &lock(nodes)[index] {
                node.control(move |fake| fake.config_mut().mute = mute);
            }
        }
        Trouble::Flood => {
            if let Some(node) = &lock(nodes)[index] {
                node.control(|fake| fake.generate_calls(2_000));
            }
        }
        Trouble::CorruptOn | Trouble::CorruptOff => {
            let every = (step.trouble == Trouble::CorruptOn).then_some(3);
            if let Some(node) = &lock(nodes)[index] {
                node.control(move |fake| fake.config_mut().garbage_every = every);
            }
        }
    }
}

/// The application's event handling: a bounded pace, counted per node.
async fn consume(client: Client, delivered: Arc<Mutex<HashMap<String, u64>>>) {
    let Ok(mut events) = client.events() else {
        return;
    };
    drop(client);
    let batch = APP_EVENTS_PER_SECOND / 100;
    let mut handled = 0;
    while let Some(event) = events.next().await {
        *delivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(event.server().to_owned())
            .or_default() += 1;
        handled += 1;
        if handled % batch == 0 {
            // The application's own work, 10 ms per batch.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Originate (with its OriginateResponse), Command, Ping and a list, each
/// routed to a healthy node, every 100 ms until `until`.
async fn traffic(client: Client, tally: Arc<Tally>, until: Instant) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut round = 0u64;
    while Instant::now() < until {
        tick.tick().await;
        round += 1;
        let channel = format!("PJSIP/{}", 100 + round % 50);
        let originate = actions::Originate {
            channel: &channel,
            exten: Some("200"),
            context: Some("from-internal"),
            priority: Some(1),
            r#async: Some(true),
            variable: BTreeMap::from([("CAMPAIGN", "demo")]),
            ..actions::Originate::default()
        };
        let uptime = actions::Command {
            command: "core show uptime",
        };
        let mut actions = vec![
            originate.to_action(),
            uptime.to_action(),
            actions::Ping {}.to_action(),
        ];
        if round.is_multiple_of(10) {
            actions.push(actions::CoreShowChannels {}.to_action());
        }
        for action in actions.into_iter().flatten() {
            let client = client.clone();
            let tally = Arc::clone(&tally);
            tally.submitted.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let result = client.send(action).await;
                tally.record(&result);
            });
        }
    }
}

/// Says what changed since the last look, and why.
fn narrate(view: &mut View, at: Duration, before: &[ServerStatus], now: &[ServerStatus]) {
    for status in now {
        let old = before.iter().find(|old| old.key == status.key);
        if old.is_some_and(|old| old.health == status.health) {
            continue;
        }
        let from = old.map_or_else(|| "start".to_owned(), |old| format!("{:?}", old.health));
        let why = match (&status.health, &status.last_error) {
            (HealthState::Healthy, _) => {
                format!("logged in ({} reconnects so far)", status.reconnects)
            }
            (HealthState::Degraded, _) => "a heartbeat Ping went unanswered".to_owned(),
            (HealthState::CircuitOpen, Some(error)) => {
                format!("breaker opened after repeated failures; last: {error}")
            }
            (_, Some(error)) => error.to_string(),
            (_, None) => match status.state {
                SessionState::Connecting => "reconnecting".to_owned(),
                SessionState::AwaitingBanner | SessionState::Authenticating => {
                    "connected; logging in".to_owned()
                }
                other => format!("{other:?}"),
            },
        };
        view.log(
            at,
            &format!("{}: {from} -> {:?}: {why}", status.key, status.health),
        );
    }
}

/// Per-node counters at one instant.
#[derive(Debug, Default)]
struct Snapshot {
    at: Option<Instant>,
    delivered: HashMap<String, u64>,
    metrics: String,
}

impl Snapshot {
    async fn take(client: &Client, delivered: &Mutex<HashMap<String, u64>>) -> Self {
        let metrics = client.metrics_text().await;
        let delivered = delivered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Self {
            at: Some(Instant::now()),
            delivered,
            metrics,
        }
    }

    fn rows(&self, before: &Self, statuses: &[ServerStatus]) -> Vec<Row> {
        let seconds = match (self.at, before.at) {
            (Some(now), Some(then)) => (now - then).as_secs_f64().max(0.001),
            _ => 1.0,
        };
        statuses
            .iter()
            .map(|status| {
                let label = format!("server_key=\"{}\"", status.key);
                let metric = |text: &str, name: &str| sum(text, name, &label);
                let events = self.delivered.get(&status.key).copied().unwrap_or(0)
                    - before.delivered.get(&status.key).copied().unwrap_or(0);
                let actions = metric(&self.metrics, "ami_actions_total")
                    .saturating_sub(metric(&before.metrics, "ami_actions_total"));
                let (p50, p99) = quantiles(&self.metrics, &label);
                Row {
                    node: status.key.clone(),
                    state: format!("{:?}", status.health),
                    breaker: match metric(&self.metrics, "ami_circuit_state") {
                        0 => "closed",
                        1 => "half-open",
                        _ => "open",
                    }
                    .to_owned(),
                    events_per_second: to_f64(events) / seconds,
                    actions_per_second: to_f64(actions) / seconds,
                    p50_ms: p50,
                    p99_ms: p99,
                    dropped_events: metric(&self.metrics, "ami_dropped_events_total"),
                    reconnects: status.reconnects,
                }
            })
            .collect()
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
const fn to_f64(count: u64) -> f64 {
    count as f64
}

/// The sum of a metric's samples carrying `label`.
fn sum(text: &str, name: &str, label: &str) -> u64 {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{'))
        })
        .filter(|line| label.is_empty() || line.contains(label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// p50 and p99 action latency of one server, in ms, from its histogram
/// (each the upper bound of the bucket that holds it).
fn quantiles(text: &str, label: &str) -> (Option<f64>, Option<f64>) {
    let buckets: Vec<(f64, u64)> = text
        .lines()
        .filter(|line| {
            line.starts_with("ami_action_latency_seconds_bucket{") && line.contains(label)
        })
        .filter_map(|line| {
            let le = line.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((bound, line.rsplit(' ').next()?.parse().ok()?))
        })
        .collect();
    let total = buckets.last().map_or(0, |&(_, count)| count);
    if total == 0 {
        return (None, None);
    }
    let at = |quantile: f64| {
        buckets
            .iter()
            .find(|&&(_, count)| to_f64(count) >= quantile * to_f64(total))
            .map(|&(bound, _)| bound * 1000.0)
    };
    (at(0.5), at(0.99))
}

/// The closing summary; `true` when every action ended exactly once.
fn summary(
    view: &mut View,
    tally: &Tally,
    after: &str,
    elapsed: Duration,
    interrupted: bool,
) -> bool {
    let submitted = tally.submitted.load(Ordering::Relaxed);
    let ended = tally.ended();
    let outcomes = tally
        .outcomes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let refused_by_app = outcomes
        .get("no healthy server to send the action to")
        .copied()
        .unwrap_or(0);
    // The client's own counters: endings per server, and refusals before
    // any server. Read after the shutdown: an action still out when the
    // bounded wait gave up ends during it (counted, as `shutting_down` or
    // `connection_lost`), and the application counts that ending too.
    let by_servers = sum(after, "ami_actions_total", "");
    let refused = after
        .lines()
        .find_map(|line| line.strip_prefix("ami_no_healthy_server_total "))
        .and_then(|count| count.parse::<u64>().ok())
        .unwrap_or(0);
    let pending = sum(after, "ami_pending_actions", "");
    let dropped = sum(after, "ami_dropped_events_total", "");
    let reconnects = sum(after, "ami_reconnects_total", "");
    let protocol_errors = sum(after, "ami_protocol_errors_total", "");
    // Each action the application sent ended once for the application, and
    // once in the client's counters: in one server's, or as refused before
    // any server. Nothing is left pending after the shutdown. (After a
    // signal, actions refused by the shutting-down client are in neither
    // count, so only the application's side is checked.)
    let exactly_once = ended == submitted
        && pending == 0
        && (interrupted || (by_servers + refused == ended && refused == refused_by_app));
    if view.is_json() {
        println!(
            "{}",
            serde_json::json!({
                "type": "summary", "seconds": elapsed.as_secs_f64(),
                "submitted": submitted, "ended": ended, "outcomes": outcomes,
                "ended_in_server_counters": by_servers, "refused_before_a_server": refused,
                "pending_at_end": pending, "dropped_events": dropped, "reconnects": reconnects,
                "protocol_errors": protocol_errors, "every_action_ended_exactly_once": exactly_once,
            })
        );
        return exactly_once;
    }
    let mut text = format!(
        "\nsummary after {:.1}s\n  actions: {submitted} submitted, {ended} ended\n",
        elapsed.as_secs_f64()
    );
    for (outcome, count) in &outcomes {
        let _infallible = writeln!(text, "    {count:>6}  {outcome}");
    }
    let _infallible = write!(
        text,
        "  events dropped (oldest first, while the application lagged): {dropped}\n  reconnects: {reconnects}\n  protocol errors skipped: {protocol_errors}\n"
    );
    let _infallible = if exactly_once {
        write!(
            text,
            "  every action ended exactly once: {ended} endings seen by the application = {by_servers} in the servers' counters + {refused} refused before a server; 0 pending"
        )
    } else {
        write!(
            text,
            "  MISMATCH: {submitted} submitted, {ended} ended, {by_servers} in the servers' counters, {refused} refused before a server ({refused_by_app} seen), {pending} pending"
        )
    };
    view.plain(&text);
    exactly_once
}
