//! `apn-ami bridge`: a worker of the NATS bridge, and `bridge status`, the
//! whole fleet at a glance.

use std::path::PathBuf;
use std::time::Duration;

use apn_ami_bridge::{BridgeConfig, status};
use apn_ami_tokio::ClientConfig;
use clap::{Args, Subcommand};

use crate::connect::parse_duration;

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
