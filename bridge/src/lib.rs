//! `apn-ami bridge`: several worker processes share one cluster
//! configuration; each server is owned by exactly one live worker at a
//! time; its events go to NATS JetStream and its actions come in by NATS
//! request/reply.
//!
//! - **Ownership** ([`ownership`]): a lease per server in the key-value
//!   bucket `ami_<cluster>_leases` (value: the worker's id), created only
//!   when free, renewed every `lease_ttl / 5`, gone `lease_ttl` after its
//!   last renewal. Rendezvous hashing over the live workers (bucket
//!   `ami_<cluster>_workers`, a heartbeat each) says who should hold each
//!   lease; a worker gives back a lease another live worker is preferred
//!   for, and only the preferred worker takes a free one.
//! - **No double ownership:** a worker stops its session to a server before
//!   it deletes the lease, and stops it by itself when it could not renew
//!   for `3/4 lease_ttl` (NATS down or partitioned), before the lease can
//!   expire for the others. So two workers hold a session to one server at
//!   once only if a worker's clock runs slower than NATS's by more than a
//!   quarter of the lease; the overlap is otherwise none.
//! - **Events out** ([`server`]): subject
//!   `ami.<cluster>.events.<server_key>.<event name>`, headers `Ami-Server`,
//!   `Ami-Host` and `Nats-Msg-Id` (from the server and the event's bytes, so
//!   a republish within the stream's duplicate window is stored once); the
//!   payload is the lossless JSON of [`wire::event_payload`]. At most
//!   `max_unacked` publishes per server wait for their ack; past that the
//!   bridge stops reading events, and they wait, then drop, in the core's
//!   bounded drop-oldest queue, counted there.
//! - **Actions in:** `ami.<cluster>.actions.<server_key>` reaches the owning
//!   worker only (it subscribes while it holds the lease);
//!   `ami.<cluster>.actions.any` is a queue group: one worker answers, with
//!   one of its servers. Requests and replies are [`wire`]'s JSON.
//!   `ami.<cluster>.lookup` (a queue group) answers where a server stands
//!   ([`wire::Lookup`]: in the cluster or not, the lease's holder).
//! - **Asking for an action** ([`request`]): [`request::Requester`] sends
//!   one and reads the reply into types; it fails fast, with a typed
//!   error, when NATS is not connected, and, when nobody serves the
//!   server, says whether it is unknown, between owners, or no worker
//!   runs.
//! - **Seeing the leases:** one watch of the leases bucket per worker (not
//!   a read per server per round), so a round's NATS calls are its own
//!   renewals and takes, made concurrently.
//! - **Health:** each worker puts its servers' health and counters in the
//!   bucket `ami_<cluster>_health`; [`status::fleet`] reads the whole fleet.

mod buckets;
mod lease_view;
pub mod local_nats;
pub mod ownership;
pub mod request;
pub mod server;
pub mod status;
pub mod wire;
mod worker;

use std::time::Duration;

use apn_ami_tokio::ClientConfig;

pub use worker::{BridgeError, run};

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The cluster's name: subjects and buckets are named after it
    /// (letters, digits, `-` and `_`).
    pub cluster: String,
    /// This worker's id, unique among the live workers.
    pub worker: String,
    /// The cluster's servers and their session settings (the client's
    /// TOML), shared by every worker.
    pub client: ClientConfig,
    /// How long a lease lasts without renewal.
    pub lease_ttl: Duration,
    /// Publishes per server that may wait for JetStream's ack.
    pub max_unacked: usize,
    /// JetStream's duplicate window on the events stream.
    pub duplicate_window: Duration,
}

impl BridgeConfig {
    /// Defaults: 10 s leases, 256 unacked publishes per server, a 2 minute
    /// duplicate window.
    #[must_use]
    pub fn new(cluster: &str, worker: &str, client: ClientConfig) -> Self {
        Self {
            cluster: cluster.to_owned(),
            worker: worker.to_owned(),
            client,
            lease_ttl: Duration::from_secs(10),
            max_unacked: 256,
            duplicate_window: Duration::from_secs(120),
        }
    }

    /// The bucket of leases.
    #[must_use]
    pub fn leases_bucket(&self) -> String {
        format!("ami_{}_leases", self.cluster)
    }

    /// The bucket of live workers.
    #[must_use]
    pub fn workers_bucket(&self) -> String {
        format!("ami_{}_workers", self.cluster)
    }

    /// The bucket of health records.
    #[must_use]
    pub fn health_bucket(&self) -> String {
        format!("ami_{}_health", self.cluster)
    }

    /// The events stream.
    #[must_use]
    pub fn events_stream(&self) -> String {
        format!("AMI_{}_EVENTS", self.cluster.to_ascii_uppercase())
    }

    /// The subject of `server`'s actions.
    #[must_use]
    pub fn actions_subject(&self, server: &str) -> String {
        wire::actions_subject(&self.cluster, server)
    }

    /// The subject where any worker says where a server stands
    /// ([`wire::Lookup`]): a queue group, one worker answers.
    #[must_use]
    pub fn lookup_subject(&self) -> String {
        wire::lookup_subject(&self.cluster)
    }

    /// The subject of `server`'s `event`.
    #[must_use]
    pub fn event_subject(&self, server: &str, event: &str) -> String {
        format!(
            "ami.{}.events.{server}.{}",
            self.cluster,
            wire::subject_token(event)
        )
    }
}
