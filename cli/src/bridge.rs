//! `apn-ami bridge`: a worker of the NATS bridge, and `bridge status`, the
//! whole fleet at a glance.

use std::path::PathBuf;
use std::time::Duration;

use apn_ami_bridge::request::{Destination, Requester};
use apn_ami_bridge::wire::ActionRequest;
use apn_ami_bridge::{BridgeConfig, status};
use apn_ami_tokio::ClientConfig;
use clap::{Args, Subcommand};

use crate::connect::parse_duration;

/// Exit code of `bridge action`: an Error response (as `action`'s).
const EXIT_ERROR_RESPONSE: u8 = 1;

/// A bridge worker, or the fleet's status.
#[derive(Debug, Args)]
pub(crate) struct BridgeArgs {
    #[command(subcommand)]
    sub: Option<BridgeSub>,
    /// The cluster's client TOML (servers, credentials, timeouts), the
    /// same file for every worker.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The NATS server (JetStream enabled).
    #[arg(long, default_value = "nats://127.0.0.1:4222", global = true)]
    nats: String,
    /// The cluster's name in subjects and buckets.
    #[arg(long, default_value = "default", global = true)]
    cluster: String,
    /// This worker's id, unique among the live workers (letters, digits,
    /// - and _); by default the host's name and the process id.
    #[arg(long)]
    worker: Option<String>,
    /// How long a lease lasts without renewal: a dead worker's servers are
    /// taken over about this long after it died.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    lease: Duration,
}

#[derive(Debug, Subcommand)]
enum BridgeSub {
    /// Prints every worker, the servers it owns, their health, published
    /// and dropped events and answered actions.
    Status,
    /// Sends one action through the fleet (to the worker that owns
    /// --server, or to any worker) and prints the reply as JSON. Exit 0 on
    /// Success, 1 on an Error response, 2 when no answer came (NATS down,
    /// no worker owns the server, timeout), with the reason on stderr.
    ///
    /// Example: apn-ami bridge --cluster east action --server pbx-1 Ping
    Action(BridgeActionArgs),
}

/// One action through the fleet.
#[derive(Debug, Args)]
struct BridgeActionArgs {
    /// The server's key; without it, any worker answers with one of its
    /// servers.
    #[arg(long)]
    server: Option<String>,
    /// The action's time limit (the reply may take a second more).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// The action's name (Ping, CoreShowChannels, Originate, …).
    name: String,
    /// Headers as Key=Value (the first `=` splits); repeat a key to send
    /// it twice.
    headers: Vec<String>,
}

/// Runs the subcommand; the exit code.
pub(crate) async fn run(args: BridgeArgs) -> u8 {
    let nats = match async_nats::connect(&args.nats).await {
        Ok(nats) => nats,
        Err(error) => {
            eprintln!(
                "apn-ami bridge: cannot reach NATS at {}: {error}",
                args.nats
            );
            return 2;
        }
    };
    if let Some(BridgeSub::Action(action)) = &args.sub {
        return send_action(nats, &args.cluster, action).await;
    }
    if matches!(args.sub, Some(BridgeSub::Status)) {
        let jetstream = async_nats::jetstream::new(nats);
        return match status::fleet(&jetstream, &args.cluster).await {
            Ok(fleet) => {
                print!("{}", status::render(&fleet));
                0
            }
            Err(error) => {
                eprintln!("apn-ami bridge status: {error}");
                2
            }
        };
    }
    let Some(path) = &args.config else {
        eprintln!("apn-ami bridge: --config FILE is needed to run a worker");
        return 2;
    };
    let client = match ClientConfig::from_file(path) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("apn-ami bridge: {error}");
            return 2;
        }
    };
    let worker = args.worker.clone().unwrap_or_else(default_worker_id);
    let mut config = BridgeConfig::new(&args.cluster, &worker, client);
    config.lease_ttl = args.lease;
    let stop = async {
        if let Err(error) = apn_ami_tokio::wait_for_signal().await {
            log::error!("no signal handling ({error}); stop with a kill");
            std::future::pending::<()>().await;
        }
    };
    match apn_ami_bridge::run(config, nats, stop).await {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("apn-ami bridge: {error}");
            2
        }
    }
}

/// `bridge action`: the reply on stdout, the exit code as `action`'s.
async fn send_action(nats: async_nats::Client, cluster: &str, args: &BridgeActionArgs) -> u8 {
    let mut request = ActionRequest::new(&args.name);
    for header in &args.headers {
        let Some((key, value)) = header.split_once('=') else {
            eprintln!("apn-ami bridge action: `{header}` is not Key=Value");
            return 2;
        };
        request = request.header(key, value);
    }
    let destination = args
        .server
        .as_deref()
        .map_or(Destination::Any, Destination::Server);
    let requester = Requester::new(nats, cluster);
    match requester.send(destination, &request, args.timeout).await {
        Ok(reply) => {
            let json = serde_json::json!({
                "worker": reply.worker,
                "server": reply.server,
                "response": reply.response,
                "items": reply.items,
            });
            println!("{json}");
            if reply.is_success() {
                0
            } else {
                EXIT_ERROR_RESPONSE
            }
        }
        Err(error) => {
            eprintln!("apn-ami bridge action: {error}");
            2
        }
    }
}

/// `HOSTNAME-PID`, with characters a subject token cannot hold replaced.
fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned());
    format!("{host}-{}", std::process::id())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
