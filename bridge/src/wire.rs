//! What travels over NATS, as JSON: events out (the CLI's `events`
//! format), action requests in, and their replies.
//!
//! - An event: `{"server": key, "event": name, "headers": [[key, value], …]}`,
//!   values lossless (`{"hex": …}` for bytes that are not UTF-8).
//! - A request: `{"action": "Originate", "headers": [["Channel", "PJSIP/100"], …]}`
//!   (pairs, so order and repeated keys such as `Variable` survive), and
//!   optionally `"timeout_ms"`.
//! - A reply: `{"ok": true, "worker": id, "server": key, "response": pairs,
//!   "items": [pairs, …]}`, or `{"ok": false, "worker": id, "error":
//!   {"kind": "timeout", "message": "…"}}`.

use apn_ami_core::typed::ser::Text;
use apn_ami_tokio::{Action, AmiError, Frame, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An event as the bridge publishes it, written straight from the frame
/// (no JSON tree in between: the bridge does this for every event).
#[derive(Serialize)]
struct EventOut<'a> {
    server: &'a str,
    event: Text<'a>,
    headers: &'a Frame,
}

/// The JSON bytes of an event as the bridge publishes it.
#[must_use]
pub fn event_payload(server: &str, frame: &Frame) -> Vec<u8> {
    let event = EventOut {
        server,
        event: Text(frame.first_value().as_bytes()),
        headers: frame,
    };
    // Writing to memory cannot fail, and a frame's keys are strings.
    serde_json::to_vec(&event).unwrap_or_default()
}

/// An action request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRequest {
    /// The action's name.
    pub action: String,
    /// Its headers, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Its own time limit, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl ActionRequest {
    /// A request for `action` with no header yet and the worker's own
    /// time limit.
    #[must_use]
    pub fn new(action: &str) -> Self {
        Self {
            action: action.to_owned(),
            headers: Vec::new(),
            timeout_ms: None,
        }
    }

    /// The request with one more header.
    #[must_use]
    pub fn header(mut self, key: &str, value: &str) -> Self {
        self.headers.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The action, built and checked (CR, LF and NUL refused).
    ///
    /// # Errors
    /// The builder's refusal, as text.
    pub fn to_action(&self) -> Result<Action, String> {
        let mut builder = Action::builder(&self.action);
        for (key, value) in &self.headers {
            builder = builder.header(key, value);
        }
        builder.build().map_err(|error| error.to_string())
    }
}

/// Why an action got no answer through the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request was not a valid action.
    BadRequest,
    /// No such server in the cluster.
    NoSuchServer,
    /// The server is in the cluster, but this worker does not own it.
    NotOwnedHere,
    /// The worker owns no server that can take it.
    NoServer,
    /// No answer in time.
    Timeout,
    /// The connection to Asterisk was lost.
    ConnectionLost,
    /// Anything else the client reports.
    Failed,
}

impl ErrorKind {
    /// The word in the reply's `kind`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::NoSuchServer => "no_such_server",
            Self::NotOwnedHere => "not_owned_here",
            Self::NoServer => "no_server",
            Self::Timeout => "timeout",
            Self::ConnectionLost => "connection_lost",
            Self::Failed => "failed",
        }
    }

    /// The kind a reply's `kind` word names, if it is one of ours.
    #[must_use]
    pub fn from_wire(word: &str) -> Option<Self> {
        [
            Self::BadRequest,
            Self::NoSuchServer,
            Self::NotOwnedHere,
            Self::NoServer,
            Self::Timeout,
            Self::ConnectionLost,
            Self::Failed,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == word)
    }

    /// The kind of a client error.
    #[must_use]
    pub const fn of(error: &AmiError) -> Self {
        match error {
            AmiError::Timeout { .. } => Self::Timeout,
            AmiError::ConnectionLost => Self::ConnectionLost,
            AmiError::NoHealthyServer | AmiError::ServerUnavailable | AmiError::CircuitOpen => {
                Self::NoServer
            }
            _ => Self::Failed,
        }
    }
}

/// Where a server stands, as a worker answers on the lookup subject (the
/// request is the server's key): whether it is in the cluster, and which
/// worker holds its lease right now, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup {
    /// The server is in the cluster's configuration.
    pub known: bool,
    /// The worker holding its lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
}

/// A successful reply.
#[must_use]
pub fn reply_ok(worker: &str, server: &str, response: &Response) -> Value {
    json!({
        "ok": true,
        "worker": worker,
        "server": server,
        "response": serde_json::to_value(response.frame()).unwrap_or_default(),
        "items": response
            .items()
            .iter()
            .map(|item| serde_json::to_value(item).unwrap_or_default())
            .collect::<Vec<_>>(),
    })
}

/// A failed reply.
#[must_use]
pub fn reply_error(worker: &str, kind: ErrorKind, message: &str) -> Value {
    json!({
        "ok": false,
        "worker": worker,
        "error": {"kind": kind.as_str(), "message": message},
    })
}

/// The subject of `server`'s actions in `cluster`; `any` is the queue
/// group's (any worker, with one of its servers).
#[must_use]
pub fn actions_subject(cluster: &str, server: &str) -> String {
    format!("ami.{cluster}.actions.{server}")
}

/// The subject where any worker of `cluster` says where a server stands
/// ([`Lookup`]).
#[must_use]
pub fn lookup_subject(cluster: &str) -> String {
    format!("ami.{cluster}.lookup")
}

/// A NATS subject token for an event name: `.`, `*`, `>` and whitespace
/// would change the subject's shape, so they become `_`.
#[must_use]
pub fn subject_token(name: &str) -> String {
    let token: String = name
        .chars()
        .map(|c| {
            if c == '.' || c == '*' || c == '>' || c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if token.is_empty() {
        "_".to_owned()
    } else {
        token
    }
}

/// A message id for JetStream's deduplication: the same server and the
/// same event bytes give the same id, so an event published twice (two
/// workers during a handover, or a retry) is stored once within the
/// stream's duplicate window. Events carry `Timestamp` when the server has
/// `timestampevents = yes`, which keeps two identical events apart.
#[must_use]
pub fn message_id(server: &str, payload: &[u8]) -> String {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut second = 0x8422_2325_cbf2_9ce4_u64;
    for &byte in server.as_bytes().iter().chain([0xff].iter()).chain(payload) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        second = (second ^ u64::from(byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    format!("{server}:{hash:016x}{second:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_the_cli_format_and_keep_bytes_that_are_not_utf8() {
        use apn_ami_core::protocol::{Item, Parser, ParserConfig};
        let mut parser =
            Parser::new(ParserConfig::default().expect_banner(false)).expect("a parser");
        let mut frames = Vec::new();
        parser
            .feed(
                b"Event: Newstate\r\nCallerIDName: \xcf\xe5\r\nUniqueid: 1.2\r\n\r\n",
                |item| frames.extend(Item::into_frame(item)),
            )
            .expect("parsed");
        let frame = frames.pop().expect("one frame");
        let json: Value = serde_json::from_slice(&event_payload("pbx-1", &frame)).expect("JSON");
        assert_eq!(
            json,
            json!({
                "server": "pbx-1",
                "event": "Newstate",
                "headers": [["event", "Newstate"], ["calleridname", {"hex": "cfe5"}], ["uniqueid", "1.2"]],
            })
        );
    }

    #[test]
    fn subject_tokens_keep_the_subject_shape() {
        assert_eq!(subject_token("Hangup"), "Hangup");
        assert_eq!(subject_token("a.b*c>d e"), "a_b_c_d_e");
        assert_eq!(subject_token(""), "_");
    }

    #[test]
    fn message_ids_depend_on_the_server_and_the_bytes_only() {
        let a = message_id("pbx-1", b"{\"event\":\"Hangup\"}");
        assert_eq!(a, message_id("pbx-1", b"{\"event\":\"Hangup\"}"));
        assert_ne!(a, message_id("pbx-2", b"{\"event\":\"Hangup\"}"));
        assert_ne!(a, message_id("pbx-1", b"{\"event\":\"Hangup\"} "));
        assert!(a.starts_with("pbx-1:"));
    }

    #[test]
    fn requests_are_checked_as_actions_are() {
        let request: ActionRequest = serde_json::from_str(
            r#"{"action":"Originate","headers":[["Channel","PJSIP/100"],["Variable","A=1"],["Variable","B=2"]],"timeout_ms":500}"#,
        )
        .expect("valid JSON");
        let action = request.to_action().expect("valid");
        assert_eq!(
            action
                .headers()
                .filter(|(key, _)| *key == "Variable")
                .count(),
            2
        );
        assert_eq!(request.timeout_ms, Some(500));
        let injected: ActionRequest =
            serde_json::from_str(r#"{"action":"Ping","headers":[["X","1\r\nAction: Logoff"]]}"#)
                .expect("valid JSON");
        assert!(injected.to_action().unwrap_err().contains("inject"));
    }

    #[test]
    fn requests_and_error_kinds_go_both_ways() {
        let request = ActionRequest::new("Originate")
            .header("Variable", "A=1")
            .header("Variable", "B=2");
        let text = serde_json::to_string(&request).expect("JSON");
        assert_eq!(
            text,
            r#"{"action":"Originate","headers":[["Variable","A=1"],["Variable","B=2"]]}"#
        );
        assert_eq!(
            serde_json::from_str::<ActionRequest>(&text).ok(),
            Some(request)
        );
        for word in [
            "bad_request",
            "no_server",
            "timeout",
            "connection_lost",
            "failed",
        ] {
            assert_eq!(
                ErrorKind::from_wire(word).map(ErrorKind::as_str),
                Some(word)
            );
        }
        assert_eq!(ErrorKind::from_wire("what"), None);
    }
}
