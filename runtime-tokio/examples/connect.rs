//! Connects to a real Asterisk, prints its uptime and channels, then streams
//! events until Ctrl-C (which logs off cleanly). Actions are written and
//! events read through the typed catalogue.
//!
//! ```sh
//! export AMI_SECRET=…   # the manager.conf secret; never on the command line
//! cargo run -p apn-ami-tokio --example connect -- 10.0.0.5 5038 apn AMI_SECRET
//! ```

use apn_ami_tokio::typed::actions::{AmiAction, Command, CoreShowChannels};
use apn_ami_tokio::typed::events::Event;
use apn_ami_tokio::{Client, ClientConfig, JsonLogger, ServerSettings};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port, username, secret_env] = &args[..] else {
        return Err("usage: connect HOST PORT USERNAME SECRET_ENV_VARIABLE".into());
    };
    JsonLogger::install_stderr(log::LevelFilter::Info)?;
    let mut server = ServerSettings::new(
        "asterisk",
        host,
        port.parse()?,
        username,
        apn_ami_tokio::Secret::new(""),
    );
    server.secret = None;
    server.secret_env = Some(secret_env.clone());
    let client = Client::start(&ClientConfig::new(vec![server]))?;
    let signals = client.shutdown_on_signals();
    client.ready().await?;

    let uptime = Command {
        command: "core show uptime",
    };
    for line in client.send(uptime.to_action()?).await?.output_lines() {
        println!("{}", String::from_utf8_lossy(line));
    }
    let channels = client.send(CoreShowChannels {}.to_action()?).await?;
    for item in channels.items() {
        if let Event::CoreShowChannel(channel) = Event::from_frame(item) {
            println!("{} ({:?})", channel.channel, channel.channel_state);
        }
    }

    let mut events = client.events()?;
    while let Some(event) = events.next().await {
        match Event::from_frame(event.frame()) {
            Event::Newchannel(new) => println!(
                "{} new channel {} from {}",
                event.server(),
                new.channel,
                new.caller_id_num.unwrap_or("?")
            ),
            Event::Hangup(hangup) => println!(
                "{} hangup {}: {}",
                event.server(),
                hangup.channel,
                hangup.cause
            ),
            Event::Invalid { frame, error } => eprintln!(
                "{} {} did not fit its type: {error}",
                event.server(),
                frame.first_value().to_string_lossy()
            ),
            other => println!("{} {}", event.server(), other.name()),
        }
    }
    // The stream ends when a signal starts the shutdown; waiting for the
    // shutdown itself makes sure the Logoff went out before we exit.
    client.shutdown().await;
    if let Some(signal) = signals.received() {
        eprintln!("stopped by {signal:?}");
    }
    Ok(())
}
