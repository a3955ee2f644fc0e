//! Connects to a real Asterisk, prints its uptime and channels, then streams
//! events until Ctrl-C (which logs off cleanly).
//!
//! ```sh
//! export AMI_SECRET=…   # the manager.conf secret; never on the command line
//! cargo run -p apn-ami-tokio --example connect -- 10.0.0.5 5038 apn AMI_SECRET
//! ```

use apn_ami_tokio::{Action, Client, ClientConfig, JsonLogger, ServerSettings};

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

    let uptime = Action::builder("Command")
        .header("Command", "core show uptime")
        .build()?;
    for line in client.send(uptime).await?.output_lines() {
        println!("{}", String::from_utf8_lossy(line));
    }
    let channels = client.send(Action::new("CoreShowChannels")?).await?;
    println!("{} channels up", channels.items().len());

    let mut events = client.events()?;
    while let Some(event) = events.next().await {
        println!(
            "{} {}",
            event.server(),
            event.frame().first_value().to_string_lossy()
        );
    }
    // The stream ends when a signal starts the shutdown; waiting for the
    // shutdown itself makes sure the Logoff went out before we exit.
    client.shutdown().await;
    if let Some(signal) = signals.received() {
        eprintln!("stopped by {signal:?}");
    }
    Ok(())
}
