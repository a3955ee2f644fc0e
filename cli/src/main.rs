//! `apn-ami`: the command line of apn-ami, an Asterisk Manager Interface
//! client. See `apn-ami --help` and `apn-ami <subcommand> --help`.

// Doc comments on the argument types are the terminal's --help text, where
// Markdown backticks would print literally.
#![allow(clippy::doc_markdown)]

mod bench;
mod bridge;
mod connect;
mod demo;
mod json;
mod logging;
mod metrics_http;
mod mock;
mod oneshot;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// A production AMI client for Asterisk: actions, commands and events from
/// the command line, a mock Asterisk for integration tests, and a demo of
/// a client riding out crashes, floods and corrupt bytes.
#[derive(Debug, Parser)]
#[command(name = "apn-ami", version, propagate_version = true)]
struct Cli {
    /// How log records go to standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// The lowest level logged (off, error, warn, info, debug); by default
    /// warn for events and mock-server, error for the demo, off for action
    /// and command (they print their own one-line reason).
    #[arg(long, global = true)]
    log_level: Option<log::LevelFilter>,
    #[command(subcommand)]
    command: Sub,
}

/// How log records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// One readable line each.
    Text,
    /// One JSON object each (`timestamp_ms`, `level`, `message`,
    /// `server_key`, `server_host`, `action_id`, `worker_pid`, …).
    Json,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Runs a fake Asterisk cluster on 127.0.0.1 and a real client against
    /// it, with scripted trouble, and shows how the client rides it out.
    ///
    /// Example: apn-ami demo --nodes 3 --seconds 20 --seed 7
    Demo(demo::DemoArgs),
    /// Sends one action and prints the response (and every list item) as
    /// JSON. Exit 0 on Success, 1 on an Error response, 2 when no answer
    /// came (timeout, connection or login failure).
    ///
    /// Example: AMI_SECRET=… apn-ami action --host 10.0.0.5 --username apn
    /// --secret-env AMI_SECRET Originate Channel=PJSIP/100 Exten=200
    /// Context=from-internal Priority=1 Async=true Variable=ACCOUNT=7
    Action(oneshot::ActionArgs),
    /// Runs a CLI command on Asterisk and prints its output lines as
    /// Asterisk prints them, whatever the server's Command format.
    ///
    /// Example: apn-ami command --config apn-ami.toml --server pbx-a "core show channels"
    Command(oneshot::CommandArgs),
    /// Streams events as JSON lines: `server`, `event`, and `headers` as
    /// `[key, value]` pairs in wire order (keys lowercase). A key or value
    /// that is not UTF-8 is written as `{"hex": "…"}` with its exact bytes.
    ///
    /// Example: apn-ami events --config apn-ami.toml --count 100 --filter event=Hangup
    Events(oneshot::EventsArgs),
    /// Serves a fake Asterisk (AMI) for integration tests: logs what it
    /// receives, answers Login, Ping, Command, lists, Originate, and can
    /// send calls and misbehave on request.
    ///
    /// Example: apn-ami mock-server --listen 127.0.0.1:5038 --secret s3cret --calls-per-second 10
    MockServer(mock::MockArgs),
    /// Measures this machine: a flood server in a child process on
    /// 127.0.0.1 and the client counting its events, beside a raw socket
    /// reading the same flood; Pings one at a time and 100 in flight.
    /// Prints events/s, loss, peak RSS and Ping rates (medians).
    ///
    /// Example: apn-ami bench --events 200000 --rounds 5
    Bench(bench::BenchArgs),
    /// A worker of the NATS bridge: it shares the cluster's servers with
    /// the other workers (a lease each, in JetStream), publishes their
    /// events to JetStream and answers their actions by request/reply.
    /// `bridge status` prints the whole fleet.
    ///
    /// Example: apn-ami bridge --config cluster.toml --nats nats://10.0.0.9:4222 --cluster east
    Bridge(bridge::BridgeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = cli.log_level.unwrap_or(match cli.command {
        // The demo tells its own story; a one-shot command says its one
        // line of reason itself.
        Sub::Demo(_) => log::LevelFilter::Error,
        Sub::Action(_) | Sub::Command(_) => log::LevelFilter::Off,
        Sub::Events(_) | Sub::MockServer(_) | Sub::Bench(_) => log::LevelFilter::Warn,
        Sub::Bridge(_) => log::LevelFilter::Info,
    });
    if let Err(error) = logging::install(cli.log_format, level) {
        eprintln!("apn-ami: cannot install the logger: {error}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("apn-ami: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let code = runtime.block_on(async move {
        let task = tokio::spawn(async move {
            match cli.command {
                Sub::Demo(args) => demo::run(args).await,
                Sub::Action(args) => oneshot::action(args).await,
                Sub::Command(args) => oneshot::command(args).await,
                Sub::Events(args) => oneshot::events(args).await,
                Sub::MockServer(args) => mock::run(args).await,
                Sub::Bench(args) => bench::run(args).await,
                Sub::Bridge(args) => bridge::run(args).await,
            }
        });
        task.await.unwrap_or_else(|error| {
            eprintln!("apn-ami: {error}");
            2
        })
    });
    // Background tasks (a node's serving thread) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    ExitCode::from(code)
}
