//! Connection options shared by every client subcommand, and the wording of
//! connection failures.

use std::path::PathBuf;
use std::time::Duration;

use apn_ami_tokio::{
    Auth, Client, ClientConfig, Failure, NotReady, Secret, ServerSettings, TlsSettings,
};
use clap::Args;

/// Where to connect: a configuration file, or one server from flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConnectionArgs {
    /// The client's TOML configuration (servers, credentials, timeouts).
    #[arg(long, conflicts_with_all = ["host", "username", "secret_env", "md5", "tls", "ca"])]
    config: Option<PathBuf>,
    /// With --config: use only this server (by key).
    #[arg(long, requires = "config")]
    server: Option<String>,
    /// One server's host.
    #[arg(long, required_unless_present = "config")]
    host: Option<String>,
    /// Its port.
    #[arg(long, default_value_t = 5038)]
    port: u16,
    /// The AMI user.
    #[arg(long, required_unless_present = "config")]
    username: Option<String>,
    /// The environment variable holding the secret (never the secret itself
    /// on a command line).
    #[arg(long, required_unless_present = "config")]
    secret_env: Option<String>,
    /// Log in with MD5 challenge/response instead of a plain secret.
    #[arg(long)]
    md5: bool,
    /// AMI over TLS (verified).
    #[arg(long)]
    tls: bool,
    /// With --tls: a PEM file of CA certificates to trust.
    #[arg(long, requires = "tls")]
    ca: Option<PathBuf>,
    /// How long to wait for a login and each answer.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let count: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 10s or 500ms"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(count)),
        "s" => Ok(Duration::from_secs(count)),
        "m" => Ok(Duration::from_secs(count * 60)),
        _ => Err(format!("`{text}`: use ms, s or m")),
    }
}

impl ConnectionArgs {
    /// The configuration to start, with the login's `Events:` value.
    pub(crate) fn config(&self, events: &str) -> Result<ClientConfig, String> {
        let mut config = if let Some(path) = &self.config {
            let mut config = ClientConfig::from_file(path).map_err(|error| error.to_string())?;
            if let Some(key) = &self.server {
                config.servers.retain(|server| &server.key == key);
                if config.servers.is_empty() {
                    return Err(format!("{} has no server `{key}`", path.display()));
                }
            }
            config
        } else {
            let host = self.host.clone().unwrap_or_default();
            let mut server = ServerSettings::new(
                "cli",
                &host,
                self.port,
                self.username.as_deref().unwrap_or_default(),
                Secret::new(""),
            );
            server.secret = None;
            server.secret_env.clone_from(&self.secret_env);
            server.auth = if self.md5 { Auth::Md5 } else { Auth::Plain };
            if self.tls {
                server.tls = Some(TlsSettings {
                    ca_file: self.ca.clone(),
                    server_name: None,
                });
            }
            ClientConfig::new(vec![server])
        };
        for server in &mut config.servers {
            events.clone_into(&mut server.events);
        }
        config.session.action_timeout = Some(self.timeout);
        Ok(config)
    }

    /// Starts a client and waits for a login, or says why there is none.
    pub(crate) async fn connect(&self, events: &str) -> Result<Client, String> {
        let config = self.config(events)?;
        let client = Client::start(&config).map_err(|error| error.to_string())?;
        let users: Vec<(String, String)> = config
            .servers
            .iter()
            .map(|server| (server.key.clone(), server.username.clone()))
            .collect();
        match tokio::time::timeout(self.timeout, client.ready()).await {
            Ok(Ok(())) => Ok(client),
            Ok(Err(NotReady::AllFailed(reasons))) => {
                client.shutdown().await;
                Err(reasons
                    .iter()
                    .map(|(key, failure)| describe(failure, &users, key))
                    .collect::<Vec<_>>()
                    .join("; "))
            }
            Ok(Err(NotReady::ShuttingDown)) => Err("interrupted".to_owned()),
            Err(_elapsed) => {
                client.shutdown().await;
                Err(format!("no login within {:?}", self.timeout))
            }
        }
    }
}

/// A failure as a person can act on it.
fn describe(failure: &Failure, users: &[(String, String)], key: &str) -> String {
    match failure {
        Failure::Authentication { message } => {
            let user = users
                .iter()
                .find(|(server, _)| server == key)
                .map_or("", |(_, user)| user.as_str());
            format!("authentication failed for user '{user}' ({message})")
        }
        other => other.to_string(),
    }
}
