//! Helpers shared by the loopback tests.
#![allow(dead_code, unreachable_pub)] // each test file uses its own subset

use std::time::Duration;

use apn_ami_sim::TcpNode;
use apn_ami_tokio::{Action, Auth, Client, HealthState, Secret, ServerSettings};

/// A server entry for a `TcpNode` with the nodes' usual credentials.
pub fn server(key: &str, node: &TcpNode, auth: Auth) -> ServerSettings {
    let address = node.address();
    let mut settings = ServerSettings::new(
        key,
        &address.ip().to_string(),
        address.port(),
        "app",
        Secret::new("s3cret"),
    );
    settings.auth = auth;
    settings
}

pub fn ping() -> Action {
    Action::new("Ping").expect("a valid action")
}

pub fn command(text: &str) -> Action {
    Action::builder("Command")
        .header("Command", text)
        .build()
        .expect("a valid action")
}

/// Waits (up to 20 s of real time) until `key` has `health`.
pub async fn wait_until(client: &Client, key: &str, health: HealthState) {
    for _ in 0..2000 {
        let statuses = client.health().await;
        if statuses
            .iter()
            .any(|status| status.key == key && status.health == health)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{key} never became {health:?}: {:?}", client.health().await);
}

/// The sum of a metric's samples whose labels contain `label`.
pub fn metric(text: &str, name: &str, label: &str) -> u64 {
    text.lines()
        .filter(|line| {
            line.starts_with(name) && line[name.len()..].starts_with('{') && line.contains(label)
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
