//! The requester's side of the bridge: an action sent to the fleet by NATS
//! request/reply, its reply read into types, and every way it can fail
//! told apart.
//!
//! It fails fast where it can: when the requester's own NATS connection is
//! not up, nothing is sent and [`RequestError::NatsUnavailable`] comes back
//! at once, instead of a wait for the whole time limit. When nobody listens
//! on a server's subject, NATS says so at once, and one question on the
//! lookup subject tells why: [`RequestError::NoSuchServer`] (not in the
//! cluster), [`RequestError::NotOwned`] (between two owners, or its owner
//! has not subscribed yet), or [`RequestError::NoWorker`] (no worker runs).
//! A connection lost while a request is out ends in
//! [`RequestError::NatsLost`] within [`STATE_CHECK`] of it (the reply
//! cannot come: NATS delivers at most once), not at the time limit.

use std::time::Duration;

use async_nats::connection::State;
use async_nats::{RequestErrorKind, client};
use serde::Deserialize;
use serde_json::Value;

use crate::wire::{self, ActionRequest, ErrorKind, Lookup};

/// The longest wait for a lookup's answer (one worker answers from what it
/// already knows).
const LOOKUP_LIMIT: Duration = Duration::from_secs(2);

/// How often a request in flight looks at its connection's state.
pub const STATE_CHECK: Duration = Duration::from_millis(100);

/// Time the reply may take on top of the action's own limit: the worker
/// answers `timeout` at the action's deadline, and that answer must still
/// arrive.
pub const REPLY_GRACE: Duration = Duration::from_secs(1);

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// The server with this key, through the worker that owns it.
    Server(&'a str),
    /// Any worker, with one of its servers.
    Any,
}

/// An answered action.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The worker that answered.
    pub worker: String,
    /// The server whose response it is.
    pub server: String,
    /// The response's headers, `[key, value]` pairs in wire order (values
    /// that are not UTF-8 are `{"hex": …}`).
    pub response: Value,
    /// The list items, each as pairs, for list actions.
    pub items: Vec<Value>,
}

impl Reply {
    /// The first value of `key` (ignoring case) in the response, when it
    /// is text.
    #[must_use]
    pub fn header(&self, key: &str) -> Option<&str> {
        self.response.as_array()?.iter().find_map(|pair| {
            let name = pair.get(0)?.as_str()?;
            name.eq_ignore_ascii_case(key)
                .then(|| pair.get(1)?.as_str())
                .flatten()
        })
    }

    /// Whether Asterisk answered `Response: Success` (or `Follows`, the
    /// old Command answer).
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.header("Response").is_some_and(|value| {
            value.eq_ignore_ascii_case("Success") || value.eq_ignore_ascii_case("Follows")
        })
    }
}

/// Why a request got no reply from Asterisk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The requester's NATS connection is not up; nothing was sent.
    #[error("NATS is not connected; nothing was sent")]
    NatsUnavailable,
    /// No worker of the cluster is running (nobody answers, not even on
    /// the lookup subject).
    #[error("no worker of cluster {cluster} is running")]
    NoWorker {
        /// The cluster.
        cluster: String,
    },
    /// The server is not in the cluster's configuration.
    #[error("no server {server} in the cluster")]
    NoSuchServer {
        /// The key asked for.
        server: String,
    },
    /// The server is in the cluster, but no worker serves it right now: a
    /// handover is under way (`holder` is the worker taking it, if any).
    #[error("server {server} is being handed over (lease held by {}); try again", holder.as_deref().unwrap_or("nobody"))]
    NotOwned {
        /// The key asked for.
        server: String,
        /// The worker holding its lease, when one does.
        holder: Option<String>,
    },
    /// The requester's NATS connection went down while it waited: the
    /// request was sent, so the action may or may not have run, but its
    /// reply (NATS delivers at most once) will not come.
    #[error("the connection to NATS was lost while waiting for the reply; the action may have run")]
    NatsLost,
    /// No reply within the action's limit and [`REPLY_GRACE`].
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// A worker answered with an error of its own.
    #[error("worker {worker} could not do it ({}): {message}", kind.as_str())]
    Refused {
        /// The worker.
        worker: String,
        /// What went wrong.
        kind: ErrorKind,
        /// The worker's words.
        message: String,
    },
    /// NATS failed otherwise.
    #[error("NATS: {0}")]
    Nats(String),
    /// The reply is not the bridge's JSON.
    #[error("the reply is not the bridge's JSON: {0}")]
    BadReply(String),
}

/// Sends actions to the workers of one cluster.
#[derive(Debug, Clone)]
pub struct Requester {
    nats: async_nats::Client,
    cluster: String,
}

/// The reply's JSON, as [`crate::wire`] writes it.
#[derive(Deserialize)]
struct WireReply {
    ok: bool,
    #[serde(default)]
    worker: String,
    #[serde(default)]
    server: String,
    #[serde(default)]
    response: Value,
    #[serde(default)]
    items: Vec<Value>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireError {
    kind: String,
    #[serde(default)]
    message: String,
}

impl Requester {
    /// A requester for `cluster` over `nats`.
    #[must_use]
    pub fn new(nats: async_nats::Client, cluster: &str) -> Self {
        Self {
            nats,
            cluster: cluster.to_owned(),
        }
    }

    /// Sends `request` and waits for its reply, at most `limit` for the
    /// action (the worker ends it there) and [`REPLY_GRACE`] more for the
    /// reply.
    ///
    /// # Errors
    /// [`RequestError`]: what kept Asterisk's answer from coming back.
    pub async fn send(
        &self,
        destination: Destination<'_>,
        request: &ActionRequest,
        limit: Duration,
    ) -> Result<Reply, RequestError> {
        if self.nats.connection_state() != State::Connected {
            return Err(RequestError::NatsUnavailable);
        }
        let subject = match destination {
            Destination::Server(key) => wire::actions_subject(&self.cluster, key),
            Destination::Any => wire::actions_subject(&self.cluster, "any"),
        };
        let unanswered = || RequestError::NoWorker {
            cluster: self.cluster.clone(),
        };
        let mut request = request.clone();
        request.timeout_ms = Some(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX));
        let payload = serde_json::to_vec(&request)
            .map_err(|error| RequestError::BadReply(error.to_string()))?;
        let wait = limit + REPLY_GRACE;
        let reply = self.nats.send_request(
            subject,
            client::Request::new()
                .payload(payload.into())
                .timeout(Some(wait)),
        );
        let message = tokio::select! {
            message = reply => message,
            () = self.connection_lost() => return Err(RequestError::NatsLost),
        };
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                return Err(match (error.kind(), destination) {
                    (RequestErrorKind::NoResponders, Destination::Server(key)) => {
                        self.why_unserved(key, limit.min(LOOKUP_LIMIT)).await
                    }
                    (RequestErrorKind::NoResponders, Destination::Any) => unanswered(),
                    (RequestErrorKind::TimedOut, _) => RequestError::Timeout(wait),
                    (RequestErrorKind::Other, _) => RequestError::Nats(error.to_string()),
                });
            }
        };
        read_reply(&message.payload)
    }

    /// Ends once the connection is seen down (looked at every
    /// [`STATE_CHECK`]: the client tells its state, not when it changes).
    async fn connection_lost(&self) {
        while self.nats.connection_state() == State::Connected {
            tokio::time::sleep(STATE_CHECK).await;
        }
    }

    /// Why nobody serves `server`: asks any worker on the lookup subject.
    async fn why_unserved(&self, server: &str, limit: Duration) -> RequestError {
        let answer = self
            .nats
            .send_request(
                wire::lookup_subject(&self.cluster),
                client::Request::new()
                    .payload(server.to_owned().into())
                    .timeout(Some(limit)),
            )
            .await;
        match answer {
            Ok(message) => match serde_json::from_slice::<Lookup>(&message.payload) {
                Ok(lookup) => unserved(server, lookup),
                Err(error) => RequestError::BadReply(error.to_string()),
            },
            Err(error) if error.kind() == RequestErrorKind::NoResponders => {
                RequestError::NoWorker {
                    cluster: self.cluster.clone(),
                }
            }
            Err(error) if error.kind() == RequestErrorKind::TimedOut => {
                RequestError::Timeout(limit)
            }
            Err(error) => RequestError::Nats(error.to_string()),
        }
    }
}

/// The error for a server nobody serves, from a worker's lookup.
fn unserved(server: &str, lookup: Lookup) -> RequestError {
    if lookup.known {
        RequestError::NotOwned {
            server: server.to_owned(),
            holder: lookup.holder,
        }
    } else {
        RequestError::NoSuchServer {
            server: server.to_owned(),
        }
    }
}

/// A reply's bytes as a [`Reply`] or the worker's typed refusal.
fn read_reply(bytes: &[u8]) -> Result<Reply, RequestError> {
    let reply: WireReply =
        serde_json::from_slice(bytes).map_err(|error| RequestError::BadReply(error.to_string()))?;
    if reply.ok {
        return Ok(Reply {
            worker: reply.worker,
            server: reply.server,
            response: reply.response,
            items: reply.items,
        });
    }
    let error = reply
        .error
        .ok_or_else(|| RequestError::BadReply("ok is false and no error is given".to_owned()))?;
    let kind = ErrorKind::from_wire(&error.kind)
        .ok_or_else(|| RequestError::BadReply(format!("unknown error kind {:?}", error.kind)))?;
    Err(RequestError::Refused {
        worker: reply.worker,
        kind,
        message: error.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::reply_error;

    #[test]
    fn replies_are_read_into_types() {
        let reply = read_reply(
            br#"{"ok":true,"worker":"w1","server":"pbx-1","response":[["Response","Success"],["Ping","Pong"]],"items":[]}"#,
        )
        .expect("a reply");
        assert_eq!(
            (reply.worker.as_str(), reply.server.as_str()),
            ("w1", "pbx-1")
        );
        assert_eq!(reply.header("ping"), Some("Pong"));
        assert!(reply.is_success());

        let refused =
            serde_json::to_vec(&reply_error("w2", ErrorKind::Timeout, "no answer")).expect("JSON");
        assert_eq!(
            read_reply(&refused),
            Err(RequestError::Refused {
                worker: "w2".to_owned(),
                kind: ErrorKind::Timeout,
                message: "no answer".to_owned(),
            })
        );
        assert!(matches!(read_reply(b"[]"), Err(RequestError::BadReply(_))));
        assert_eq!(
            unserved(
                "pbx-9",
                Lookup {
                    known: false,
                    holder: None
                }
            ),
            RequestError::NoSuchServer {
                server: "pbx-9".to_owned()
            }
        );
        assert_eq!(
            unserved(
                "pbx-1",
                Lookup {
                    known: true,
                    holder: Some("w2".to_owned())
                }
            ),
            RequestError::NotOwned {
                server: "pbx-1".to_owned(),
                holder: Some("w2".to_owned())
            }
        );
        assert!(matches!(
            read_reply(br#"{"ok":false,"error":{"kind":"odd"}}"#),
            Err(RequestError::BadReply(_))
        ));
    }
}
