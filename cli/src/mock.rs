//! `mock-server`: a fake Asterisk on a real socket for users' own
//! integration tests.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use apn_ami_sim::{CommandFormat, NodeConfig, QueuesFormat, TcpNode};
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
    /// Put a garbage block (a line that starts no frame, then a blank line) before every n-th frame.
    #[arg(long)]
    garbage_every: Option<u32>,
    /// Answer `Queues` as Asterisk up to 14 did: the text of `queue show`,
    /// with no Response or ActionID line (by default, as 15+: an error).
    #[arg(long)]
    legacy_queues: bool,
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
    if args.legacy_queues {
        config.queues_format = QueuesFormat::Legacy;
    }
    let node = match TcpNode::spawn_at(args.listen, config, 1) {
        Ok(node) => node,
        Err(error) => {
            eprintln!("apn-ami: cannot listen on {}: {error}", args.listen);
            return 2;
        }
    };
    println!("listening on {}", node.address());
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let signal = apn_ami_tokio::wait_for_signal();
    tokio::pin!(signal);
    // One burst of calls at a time: a burst waits for a connected client,
    // and no more are queued meanwhile.
    let burst_pending = Arc::new(AtomicBool::new(false));
    let mut last_burst = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let mut out = std::io::stdout().lock();
                for line in node.take_received() {
                    if writeln!(out, "received: {line}").is_err() {
                        return 2; // nobody reads the log any more
                    }
                }
                if args.calls_per_second > 0
                    && last_burst.elapsed() >= Duration::from_secs(1)
                    && !burst_pending.swap(true, Ordering::SeqCst)
                {
                    last_burst = tokio::time::Instant::now();
                    let calls = args.calls_per_second;
                    let pending = Arc::clone(&burst_pending);
                    node.control(move |fake| {
                        fake.generate_calls(calls);
                        pending.store(false, Ordering::SeqCst);
                    });
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
    let stats = tokio::task::spawn_blocking(move || node.stop()).await;
    if let Ok(Ok(stats)) = stats {
        let line = format!(
            "stopped: {} connections, {} logins, {} actions, {} events sent",
            stats.connections, stats.logins, stats.actions, stats.events
        );
        // A closed stdout only loses this line.
        if writeln!(std::io::stdout(), "{line}").is_err() {}
    }
    0
}
