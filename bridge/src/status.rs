//! The fleet's health: each worker writes a record of its servers to the
//! health bucket; `apn-ami bridge status` reads every record.

use async_nats::jetstream;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::BridgeError;

/// One worker's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerHealth {
    /// The worker's id.
    pub worker: String,
    /// When it wrote this (Unix milliseconds).
    pub at_ms: u64,
    /// Its servers.
    pub servers: Vec<ServerHealth>,
}

/// One owned server in a worker's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHealth {
    /// The server's key.
    pub key: String,
    /// Its health (`Healthy`, `Disconnected`…).
    pub health: String,
    /// Actions pending on it.
    pub pending: usize,
    /// Reconnects of its session.
    pub reconnects: u64,
    /// Events JetStream acknowledged.
    pub published: u64,
    /// Events given up after failed publishes.
    pub publish_failures: u64,
    /// Events the core's queue dropped (JetStream or the bridge lagging).
    pub dropped_events: u64,
    /// Action requests answered.
    pub requests: u64,
}

/// Every worker's latest record (a worker gone for a lease's length has
/// none).
///
/// # Errors
/// [`BridgeError::Nats`] when the bucket cannot be read.
pub async fn fleet(
    jetstream: &jetstream::Context,
    cluster: &str,
) -> Result<Vec<WorkerHealth>, BridgeError> {
    let bucket = jetstream
        .get_key_value(format!("ami_{cluster}_health"))
        .await
        .map_err(BridgeError::nats)?;
    let mut keys = bucket.keys().await.map_err(BridgeError::nats)?;
    let mut records: Vec<WorkerHealth> = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(BridgeError::nats)?;
        let value = bucket.get(&key).await.map_err(BridgeError::nats)?;
        if let Some(record) = value.and_then(|value| serde_json::from_slice(&value).ok()) {
            records.push(record);
        }
    }
    records.sort_by(|a, b| a.worker.cmp(&b.worker));
    Ok(records)
}

/// The fleet as a table: one line per server, under its worker.
#[must_use]
pub fn render(fleet: &[WorkerHealth]) -> String {
    use std::fmt::Write as _;
    let mut text = format!(
        "{:<20} {:<16} {:<13} {:>10} {:>8} {:>8} {:>8}\n",
        "worker", "server", "health", "published", "failed", "dropped", "actions"
    );
    for worker in fleet {
        if worker.servers.is_empty() {
            let _infallible = writeln!(text, "{:<20} (no server)", worker.worker);
        }
        for server in &worker.servers {
            let _infallible = writeln!(
                text,
                "{:<20} {:<16} {:<13} {:>10} {:>8} {:>8} {:>8}",
                worker.worker,
                server.key,
                server.health,
                server.published,
                server.publish_failures,
                server.dropped_events,
                server.requests
            );
        }
    }
    text
}
