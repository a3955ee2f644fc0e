//! `action`, `command` and `events`: one client, one job, clear exit codes.

use apn_ami_tokio::{Action, AmiError, Client, Response, Signal, SubmitOptions, Target};
use clap::Args;

use crate::connect::ConnectionArgs;
use crate::json;

/// Exit code: an Error response.
const EXIT_ERROR_RESPONSE: u8 = 1;
/// Exit code: no answer (timeout, connection or login failure).
const EXIT_NO_ANSWER: u8 = 2;
/// Exit codes after SIGINT and SIGTERM, as shells report them.
const EXIT_SIGINT: u8 = 130;
const EXIT_SIGTERM: u8 = 143;

#[derive(Debug, Args)]
pub(crate) struct ActionArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// The action's name (Ping, CoreShowChannels, Originate, …).
    name: String,
    /// Headers as Key=Value (the first `=` splits; `Variable=NAME=value`
    /// sets a channel variable). Repeat a key to send it twice.
    headers: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CommandArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// The CLI command, quoted: "core show channels".
    cli_command: String,
}

#[derive(Debug, Args)]
pub(crate) struct EventsArgs {
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Stop after this many events.
    #[arg(long)]
    count: Option<u64>,
    /// Only events with this header value (key=value, key ignoring case,
    /// value exact); repeat to require several.
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// Serve the client's metrics at `http://ADDR/metrics`.
    #[arg(long)]
    metrics_listen: Option<std::net::SocketAddr>,
}

fn build_action(name: &str, headers: &[String]) -> Result<Action, String> {
    let mut builder = Action::builder(name);
    for header in headers {
        let (key, value) = header
            .split_once('=')
            .ok_or_else(|| format!("`{header}` is not Key=Value"))?;
        builder = builder.header(key, value);
    }
    builder
        .build()
        .map_err(|error| format!("invalid action: {error}"))
}

/// Sends one action and maps its ending to an exit code.
async fn send_one(connection: &ConnectionArgs, action: Action) -> Result<Response, u8> {
    let client = match connection.connect("off").await {
        Ok(client) => client,
        Err(reason) => {
            eprintln!("apn-ami: {reason}");
            return Err(EXIT_NO_ANSWER);
        }
    };
    let signals = client.shutdown_on_signals();
    let options = SubmitOptions {
        timeout: Some(connection.timeout),
        ..SubmitOptions::default()
    };
    let result = client.send_with(action, Target::Any, options).await;
    client.shutdown().await;
    match (result, signals.received()) {
        (_, Some(signal)) => Err(signal_exit(signal)),
        (Ok(response), None) => Ok(response),
        (Err(error), None) => {
            eprintln!("apn-ami: {}", describe(&error));
            Err(EXIT_NO_ANSWER)
        }
    }
}

fn describe(error: &AmiError) -> String {
    match error {
        AmiError::Timeout { after } => format!("no answer within {after:?}"),
        other => other.to_string(),
    }
}

const fn signal_exit(signal: Signal) -> u8 {
    match signal {
        Signal::Interrupt => EXIT_SIGINT,
        Signal::Terminate => EXIT_SIGTERM,
    }
}

/// Builds the action from its name and `Key=Value` headers and sends it.
async fn build_and_send(
    connection: &ConnectionArgs,
    name: &str,
    headers: &[String],
) -> Result<Response, u8> {
    let action = build_action(name, headers).map_err(|reason| {
        eprintln!("apn-ami: {reason}");
        EXIT_NO_ANSWER
    })?;
    send_one(connection, action).await
}

pub(crate) async fn action(args: ActionArgs) -> u8 {
    match build_and_send(&args.connection, &args.name, &args.headers).await {
        Ok(response) => {
            println!("{}", json::response(&response));
            if response.is_success() {
                0
            } else {
                EXIT_ERROR_RESPONSE
            }
        }
        Err(code) => code,
    }
}

pub(crate) async fn command(args: CommandArgs) -> u8 {
    let headers = [format!("Command={}", args.cli_command)];
    match build_and_send(&args.connection, "Command", &headers).await {
        Ok(response) => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            for line in response.output_lines() {
                if out
                    .write_all(line)
                    .and_then(|()| out.write_all(b"\n"))
                    .is_err()
                {
                    return EXIT_NO_ANSWER;
                }
            }
            if response.is_success() {
                0
            } else {
                if let Some(message) = response.message() {
                    eprintln!("apn-ami: {}", message.to_string_lossy());
                }
                EXIT_ERROR_RESPONSE
            }
        }
        Err(code) => code,
    }
}

pub(crate) async fn events(args: EventsArgs) -> u8 {
    let mut filters = Vec::new();
    for filter in &args.filters {
        let Some((key, value)) = filter.split_once('=') else {
            eprintln!("apn-ami: --filter `{filter}` is not key=value");
            return EXIT_NO_ANSWER;
        };
        filters.push((key.to_ascii_lowercase(), value.to_owned()));
    }
    let client = match args.connection.connect("on").await {
        Ok(client) => client,
        Err(reason) => {
            eprintln!("apn-ami: {reason}");
            return EXIT_NO_ANSWER;
        }
    };
    if let Some(address) = args.metrics_listen
        && let Err(error) = crate::metrics_http::serve(address, client.downgrade()).await
    {
        eprintln!("apn-ami: cannot serve metrics on {address}: {error}");
        client.shutdown().await;
        return EXIT_NO_ANSWER;
    }
    let signals = client.shutdown_on_signals();
    let code = stream(&client, args.count, &filters).await;
    client.shutdown().await;
    signals.received().map_or(code, signal_exit)
}

async fn stream(client: &Client, count: Option<u64>, filters: &[(String, String)]) -> u8 {
    use std::io::Write as _;
    let mut events = match client.events() {
        Ok(events) => events,
        Err(error) => {
            eprintln!("apn-ami: {error}");
            return EXIT_NO_ANSWER;
        }
    };
    let mut printed = 0;
    while count.is_none_or(|count| printed < count) {
        let Some(event) = events.next().await else {
            break; // shut down (a signal)
        };
        let frame = event.frame();
        let wanted = filters.iter().all(|(key, value)| {
            frame
                .get(key)
                .is_some_and(|v| v.as_bytes() == value.as_bytes())
        });
        if !wanted {
            continue;
        }
        let line = json::event(event.server(), frame);
        if writeln!(std::io::stdout().lock(), "{line}").is_err() {
            return EXIT_NO_ANSWER; // stdout closed (a pipe into `head`)
        }
        printed += 1;
    }
    0
}
