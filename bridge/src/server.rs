//! One owned server: its client, its events published to JetStream with a
//! bound on unacknowledged publishes, and the requests of its actions
//! subject answered. Runs until the worker stops it (then it logs off) or
//! the worker itself goes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apn_ami_tokio::{Client, SubmitOptions, Target};
use async_nats::HeaderMap;
use async_nats::jetstream;
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::oneshot;

use crate::BridgeConfig;
use crate::wire::{self, ActionRequest, ErrorKind};

/// Publishes that failed are tried again this many times (the message id
/// makes a repeat harmless).
const PUBLISH_TRIES: u32 = 3;

/// What a worker shares with its server tasks.
#[derive(Debug)]
pub struct Shared {
    /// The worker's settings.
    pub config: BridgeConfig,
    /// Its NATS connection.
    pub nats: async_nats::Client,
    /// JetStream on it.
    pub jetstream: jetstream::Context,
}

/// A server's counters, reported in the health bucket.
#[derive(Debug, Default)]
pub struct Counters {
    /// Events JetStream acknowledged.
    pub published: AtomicU64,
    /// Events given up after three failed publishes.
    pub publish_failures: AtomicU64,
    /// Action requests answered.
    pub requests: AtomicU64,
}

/// An event on its way to JetStream.
struct Outgoing {
    subject: String,
    headers: HeaderMap,
    payload: Bytes,
    tries: u32,
}

/// Serves `key` through `client` until `stop` fires or is dropped.
pub async fn serve(
    shared: Arc<Shared>,
    key: String,
    host: String,
    client: Client,
    counters: Arc<Counters>,
    mut stop: oneshot::Receiver<()>,
) -> String {
    let subject = shared.config.actions_subject(&key);
    let mut requests = match shared.nats.subscribe(subject.clone()).await {
        Ok(subscriber) => Some(subscriber),
        Err(error) => {
            log::error!(target: "apn_ami::bridge", "cannot subscribe to {subject}: {error}");
            None
        }
    };
    let Ok(mut events) = client.events() else {
        return key;
    };
    let mut acks = FuturesUnordered::new();
    let mut answers = FuturesUnordered::new();
    loop {
        // Read before the select: a borrow of the set held across its
        // await would need the futures inside to be `Sync`.
        let unacked = acks.len();
        let answering = !answers.is_empty();
        tokio::select! {
            biased;
            _ = &mut stop => break,
            Some((result, outgoing)) = acks.next(), if unacked > 0 => {
                let outgoing: Outgoing = outgoing;
                match result {
                    Ok(()) => {
                        counters.published.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) if outgoing.tries < PUBLISH_TRIES => {
                        log::warn!(target: "apn_ami::bridge", "publish to {} failed ({error}); again", outgoing.subject);
                        acks.push(publish(&shared, Outgoing { tries: outgoing.tries + 1, ..outgoing }).await);
                    }
                    Err(error) => {
                        counters.publish_failures.fetch_add(1, Ordering::Relaxed);
                        log::error!(target: "apn_ami::bridge", "event of {key} lost: {error}");
                    }
                }
            }
            Some(()) = answers.next(), if answering => {
                counters.requests.fetch_add(1, Ordering::Relaxed);
            }
            Some(message) = async { match requests.as_mut() { Some(s) => s.next().await, None => None } } => {
                answers.push(answer(Arc::clone(&shared), key.clone(), client.clone(), message));
            }
            event = events.next(), if unacked < shared.config.max_unacked => {
                let Some(event) = event else { break };
                let outgoing = outgoing(&shared.config, &key, &host, event.frame());
                acks.push(publish(&shared, outgoing).await);
            }
        }
    }
    drop(requests);
    drop(events);
    client.shutdown().await;
    // What was published gets its ack, or is counted as failed.
    let drain = async {
        while let Some((result, _)) = acks.next().await {
            let counter = if result.is_ok() {
                &counters.published
            } else {
                &counters.publish_failures
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        log::warn!(target: "apn_ami::bridge", "acks of {key} still pending at its stop");
    }
    key
}

fn outgoing(
    config: &BridgeConfig,
    key: &str,
    host: &str,
    frame: &apn_ami_tokio::Frame,
) -> Outgoing {
    let payload = wire::event_payload(key, frame);
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", wire::message_id(key, &payload).as_str());
    headers.insert("Ami-Server", key);
    headers.insert("Ami-Host", host);
    Outgoing {
        subject: config.event_subject(key, &frame.first_value().to_string_lossy()),
        headers,
        payload: Bytes::from(payload),
        tries: 1,
    }
}

/// Sends one publish (retrying while NATS refuses to take it: the bridge
/// reads no further event meanwhile), and gives the future of its ack.
async fn publish(
    shared: &Shared,
    outgoing: Outgoing,
) -> impl Future<Output = (Result<(), String>, Outgoing)> + use<> {
    let mut pause = Duration::from_millis(50);
    let sent = loop {
        match shared
            .jetstream
            .publish_with_headers(
                outgoing.subject.clone(),
                outgoing.headers.clone(),
                outgoing.payload.clone(),
            )
            .await
        {
            Ok(ack) => break Ok(ack),
            Err(error) if pause < Duration::from_secs(2) => {
                log::warn!(target: "apn_ami::bridge", "publish refused ({error}); retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(error) => break Err(error.to_string()),
        }
    };
    // The ack is awaited in a task of its own: its future is not `Sync`,
    // which the set of pending acks (borrowed across awaits) would need.
    let ack = sent.map(|ack| tokio::spawn(ack.into_future()));
    async move {
        let result = match ack {
            Ok(ack) => match ack.await {
                Ok(acked) => acked.map(|_| ()).map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            },
            Err(error) => Err(error),
        };
        (result, outgoing)
    }
}

/// Answers one request of `key`'s actions subject.
async fn answer(shared: Arc<Shared>, key: String, client: Client, message: async_nats::Message) {
    let Some(reply) = message.reply.clone() else {
        return;
    };
    let worker = &shared.config.worker;
    let body = match serde_json::from_slice::<ActionRequest>(&message.payload) {
        Err(error) => wire::reply_error(worker, ErrorKind::BadRequest, &error.to_string()),
        Ok(request) => match request.to_action() {
            Err(error) => wire::reply_error(worker, ErrorKind::BadRequest, &error),
            Ok(action) => {
                let options = SubmitOptions {
                    timeout: request.timeout_ms.map(Duration::from_millis),
                    ..SubmitOptions::default()
                };
                match client.send_with(action, Target::Any, options).await {
                    Ok(response) => wire::reply_ok(worker, &key, &response),
                    Err(error) => {
                        wire::reply_error(worker, ErrorKind::of(&error), &error.to_string())
                    }
                }
            }
        },
    };
    let payload = serde_json::to_vec(&body).unwrap_or_default();
    if let Err(error) = shared.nats.publish(reply, payload.into()).await {
        log::warn!(target: "apn_ami::bridge", "reply for {key} not sent: {error}");
    }
}

/// Answers a request of the `any` subject with one of the worker's servers.
pub async fn answer_any(
    shared: Arc<Shared>,
    server: Option<(String, Client)>,
    message: async_nats::Message,
) {
    match server {
        Some((key, client)) => answer(shared, key, client, message).await,
        None => {
            if let Some(reply) = message.reply.clone() {
                let body = wire::reply_error(
                    &shared.config.worker,
                    ErrorKind::NoServer,
                    "this worker owns no server right now",
                );
                let payload = serde_json::to_vec(&body).unwrap_or_default();
                if let Err(error) = shared.nats.publish(reply, payload.into()).await {
                    log::warn!(target: "apn_ami::bridge", "reply not sent: {error}");
                }
            }
        }
    }
}
