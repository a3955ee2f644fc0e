//! `mock-server`: a fake Asterisk on a real socket for users' own
//! integration tests.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use apn_ami_sim::{CommandFormat, NodeConfig, TcpNode};
use clap::{Args, ValueEnum};

use crate::connect::parse_duration;

#[derive(Debug, Args)]
pub(crate) struct MockArgs {
    /// Where to listen (port 0 picks one; the address is printed first).
    #[arg(long, default_value = "127.0.0.1:5038")]
    listen: SocketAddr,
    /// The AMI user it accepts.
    #[arg(long, env = "APN_AMI_MOCK_USERNAME", default_value = "admin")]
    username: String,
    /// The secret it accepts (or set APN_AMI_MOCK_SECRET).
    #[arg(long, env = "APN_AMI_MOCK_SECRET", hide_env_values = true)]
    secret: String,
    /// How it answers Command: `output` (Asterisk 14+) or `legacy`.
    #[arg(long, value_enum, default_value_t = Format::Output)]
    command_format: Format,
    /// Calls a second sent to a logged-in client (five events a call).
    #[arg(long, default_value_t = 0)]
    calls_per_second: u64,
    /// Items in answers to CoreShowChannels, Status and QueueStatus.
    #[arg(long, default_value_t = 3)]
    list_items: usize,
    /// Answer every action this late.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    answer_delay: Duration,
    /// Refuse every login.
    #[arg(long)]
    reject_logins: bool,
    /// Answer nothing after the banner (the socket stays open).
    #[arg(long)]
    mute: bool,
    /// Put a garbage line before every n-th frame.
    #[arg(long)]
    garbage_every: Option<u32>,
}

/// How the mock answers `Command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Output,
    Legacy,
}

pub(crate) async fn run(args: MockArgs) -> u8 {
    let mut config = NodeConfig::new(&args.username, &args.secret);
    config.command_format = match args.command_format {
        Format::Output => CommandFormat::Output,
        Format::Legacy => CommandFormat::Legacy,
    };
    config.list_items = args.list_items;
    config.answer_delay = args.answer_delay;
    config.reject_logins = args.reject_logins;
    config.mute = args.mute;
    config.garbage_every = args.garbage_every;
    let node = match TcpNode::spawn_at(args.listen, config, 1) {
        Ok(node) => node,
        Err(error) => {
            eprintln!("apn-ami: cannot listen on {}: {error}", args.listen);
            return 2;
        }
    };
    println!("listening on {}", node.address());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let signal = apn_ami_tokio::wait_for_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let calls = args.calls_per_second;
                let (sender, received) = mpsc::channel();
                node.control(move |fake| {
                    fake.generate_calls(calls);
                    // The receiver waits below; a closed one only loses
                    // this second's log lines.
                    if sender.send(fake.take_received()).is_err() {}
                });
                let lines = tokio::task::spawn_blocking(move || {
                    received.recv_timeout(Duration::from_secs(1)).unwrap_or_default()
                })
                .await
                .unwrap_or_default();
                for line in lines {
                    println!("received: {line}");
                }
            }
            signal = &mut signal => {
                if let Err(error) = signal {
                    eprintln!("apn-ami: cannot listen for signals: {error}");
                }
                break;
            }
        }
    }
    let stats = node.stop();
    if let Ok(stats) = stats {
        println!(
            "stopped: {} connections, {} logins, {} actions, {} events sent",
            stats.connections, stats.logins, stats.actions, stats.events
        );
    }
    0
}
