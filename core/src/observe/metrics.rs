//! Per-server metrics and their Prometheus text exposition.

use std::fmt::Write as _;
use std::time::Duration;

/// Upper bounds of the action latency histogram, in microseconds, and as
/// Prometheus writes them (seconds).
const LATENCY_BUCKETS: [(u64, &str); 14] = [
    (1_000, "0.001"),
    (2_500, "0.0025"),
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (5_000_000, "5"),
    (10_000_000, "10"),
    (30_000_000, "30"),
];

/// How an action ended, as the `outcome` label of `ami_actions_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A response that Asterisk reports as success.
    Success,
    /// A response that Asterisk reports as an error.
    Error,
    /// No answer before the deadline.
    Timeout,
    /// The connection closed first.
    ConnectionLost,
    /// Refused by a bound before being sent.
    Rejected,
    /// Refused or cut short by a shutdown.
    ShuttingDown,
    /// Its event list passed its cap.
    ListTooLong,
    /// Its headerless answer passed the frame size limit.
    AnswerTooLarge,
}

impl Outcome {
    const ALL: [Self; 8] = [
        Self::Success,
        Self::Error,
        Self::Timeout,
        Self::ConnectionLost,
        Self::Rejected,
        Self::ShuttingDown,
        Self::ListTooLong,
        Self::AnswerTooLarge,
    ];

    /// The label value.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::ConnectionLost => "connection_lost",
            Self::Rejected => "rejected",
            Self::ShuttingDown => "shutting_down",
            Self::ListTooLong => "list_too_long",
            Self::AnswerTooLarge => "answer_too_large",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// Why a login was refused, as the `reason` label of
/// `ami_login_failures_total`, classed from Asterisk's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginFailure {
    /// Wrong user or secret (`Authentication failed`).
    Authentication,
    /// The user may not do this (a permission, an ACL, a refused `Events`).
    Permission,
    /// Anything else.
    Other,
}

impl LoginFailure {
    const ALL: [Self; 3] = [Self::Authentication, Self::Permission, Self::Other];

    /// The class of a refusal with this message.
    #[must_use]
    pub fn classify(message: &str) -> Self {
        let message = message.to_ascii_lowercase();
        if message.contains("authentication") {
            Self::Authentication
        } else if ["permission", "denied", "not allowed"]
            .iter()
            .any(|word| message.contains(word))
        {
            Self::Permission
        } else {
            Self::Other
        }
    }

    /// The label value.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::Permission => "permission",
            Self::Other => "other",
        }
    }
}

/// Counters and gauges of one server that the session updates directly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Events dropped from the full event queue (counter).
    pub dropped_events: u64,
    /// Actions refused by a bound (counter).
    pub rejected_actions: u64,
    /// Actions pending now (gauge).
    pub pending_actions: u64,
    /// Events waiting in the queue now (gauge).
    pub event_queue_depth: u64,
    /// Protocol errors seen by the parser (counter).
    pub protocol_errors: u64,
    /// Oversized frames discarded (counter).
    pub frames_discarded: u64,
    /// Damaged blocks skipped through their blank line (counter).
    pub resyncs: u64,
    /// Bytes skipped as garbage or as parts of discarded frames (counter).
    pub bytes_skipped: u64,
    /// Bytes read from the server (counter).
    pub bytes_received: u64,
    /// Bytes written to the server (counter).
    pub bytes_sent: u64,
    /// Heartbeats that got no answer in time (counter).
    pub heartbeat_failures: u64,
    /// Connections closed for passing their memory budget (counter).
    pub memory_budget_closes: u64,
    /// Reconnect attempts after the first connection (counter).
    pub reconnects: u64,
    /// The circuit breaker: 0 closed, 1 half-open, 2 open (gauge).
    pub circuit_state: u64,
    /// Actions the router sent to this server (counter).
    pub routed_actions: u64,
    /// Times the server said it was shutting down (and was drained).
    pub drainings: u64,
    /// The server's health as a code (see `HealthState::code`).
    pub health_state: u64,
}

/// Every metric of one server, labelled `server_key` and `server_host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMetrics {
    labels: String,
    latency_buckets: [u64; LATENCY_BUCKETS.len()],
    latency_count: u64,
    latency_sum_us: u64,
    outcomes: [u64; Outcome::ALL.len()],
    login_failures: [u64; LoginFailure::ALL.len()],
    /// The counters and gauges the session sets.
    pub counters: Counters,
}

impl ServerMetrics {
    /// Metrics for one server.
    #[must_use]
    pub fn new(server_key: &str, server_host: &str) -> Self {
        let mut labels = String::new();
        let _infallible = write!(
            labels,
            "server_key=\"{}\",server_host=\"{}\"",
            escape_label(server_key),
            escape_label(server_host)
        );
        Self {
            labels,
            latency_buckets: [0; LATENCY_BUCKETS.len()],
            latency_count: 0,
            latency_sum_us: 0,
            outcomes: [0; Outcome::ALL.len()],
            login_failures: [0; LoginFailure::ALL.len()],
            counters: Counters::default(),
        }
    }

    /// Counts a refused login by its class.
    pub const fn record_login_failure(&mut self, reason: LoginFailure) {
        self.login_failures[reason as usize] += 1;
    }

    /// Logins refused for `reason`.
    #[must_use]
    pub const fn login_failures(&self, reason: LoginFailure) -> u64 {
        self.login_failures[reason as usize]
    }

    /// Records how an action ended and how long it took.
    pub fn record_action(&mut self, outcome: Outcome, latency: Duration) {
        self.outcomes[outcome.index()] += 1;
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_count += 1;
        self.latency_sum_us = self.latency_sum_us.saturating_add(micros);
        if let Some(bucket) = LATENCY_BUCKETS
            .iter()
            .position(|&(bound, _)| micros <= bound)
        {
            self.latency_buckets[bucket] += 1;
        }
    }

    /// Counts an action refused at submit (never registered, so it has no
    /// latency: refusals stay out of the latency histogram).
    pub const fn record_refusal(&mut self, outcome: Outcome) {
        self.outcomes[outcome.index()] += 1;
    }

    /// Actions that ended with `outcome`.
    #[must_use]
    pub const fn actions(&self, outcome: Outcome) -> u64 {
        self.outcomes[outcome.index()]
    }

    /// Actions whose latency was recorded.
    #[must_use]
    pub const fn latency_count(&self) -> u64 {
        self.latency_count
    }
}

/// Escapes a label value: backslash, double quote and newline.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: its name, type, help, and how to read one server's value.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    value: fn(&Counters) -> u64,
}

const FAMILIES: [Family; 17] = [
    Family {
        name: "ami_dropped_events_total",
        kind: "counter",
        help: "Events dropped because the server's event queue was full (oldest first).",
        value: |c| c.dropped_events,
    },
    Family {
        name: "ami_rejected_actions_total",
        kind: "counter",
        help: "Actions refused by a bound before being sent.",
        value: |c| c.rejected_actions,
    },
    Family {
        name: "ami_pending_actions",
        kind: "gauge",
        help: "Actions sent or queued and not yet ended.",
        value: |c| c.pending_actions,
    },
    Family {
        name: "ami_event_queue_depth",
        kind: "gauge",
        help: "Events waiting in the server's event queue.",
        value: |c| c.event_queue_depth,
    },
    Family {
        name: "ami_protocol_errors_total",
        kind: "counter",
        help: "Garbage lines, malformed lines and unrecoverable stream errors.",
        value: |c| c.protocol_errors,
    },
    Family {
        name: "ami_frames_discarded_total",
        kind: "counter",
        help: "Frames discarded for exceeding the frame size limit.",
        value: |c| c.frames_discarded,
    },
    Family {
        name: "ami_resyncs_total",
        kind: "counter",
        help: "Damaged blocks (a first line that starts no frame) skipped through their blank line.",
        value: |c| c.resyncs,
    },
    Family {
        name: "ami_bytes_skipped_total",
        kind: "counter",
        help: "Bytes skipped as garbage or as parts of discarded frames.",
        value: |c| c.bytes_skipped,
    },
    Family {
        name: "ami_bytes_received_total",
        kind: "counter",
        help: "Bytes read from the server.",
        value: |c| c.bytes_received,
    },
    Family {
        name: "ami_bytes_sent_total",
        kind: "counter",
        help: "Bytes written to the server.",
        value: |c| c.bytes_sent,
    },
    Family {
        name: "ami_heartbeat_failures_total",
        kind: "counter",
        help: "Heartbeat pings that got no pong in time.",
        value: |c| c.heartbeat_failures,
    },
    Family {
        name: "ami_memory_budget_closes_total",
        kind: "counter",
        help: "Connections closed at once for passing their memory budget.",
        value: |c| c.memory_budget_closes,
    },
    Family {
        name: "ami_reconnects_total",
        kind: "counter",
        help: "Reconnect attempts after the first connection.",
        value: |c| c.reconnects,
    },
    Family {
        name: "ami_circuit_state",
        kind: "gauge",
        help: "The server's circuit breaker: 0 closed, 1 half-open, 2 open.",
        value: |c| c.circuit_state,
    },
    Family {
        name: "ami_routed_actions_total",
        kind: "counter",
        help: "Actions the router sent to this server and it accepted.",
        value: |c| c.routed_actions,
    },
    Family {
        name: "ami_server_drainings_total",
        kind: "counter",
        help: "Times the server said it was shutting down; no new action was routed to it after.",
        value: |c| c.drainings,
    },
    Family {
        name: "ami_server_health",
        kind: "gauge",
        help: "The server's health: 0 healthy, 1 degraded, 2 disconnected, 3 circuit open, 4 draining.",
        value: |c| c.health_state,
    },
];

/// Renders every server's metrics in the Prometheus text exposition format
/// (version 0.0.4): one `HELP` and `TYPE` per family, one sample per server.
///
/// ```
/// use std::time::Duration;
/// use apn_ami_core::observe::{Outcome, ServerMetrics, render_prometheus};
///
/// let mut pbx = ServerMetrics::new("pbx1", "127.0.0.1:5038");
/// pbx.record_action(Outcome::Success, Duration::from_millis(3));
/// let text = render_prometheus(&[&pbx]);
/// assert!(text.contains(
///     "ami_actions_total{server_key=\"pbx1\",server_host=\"127.0.0.1:5038\",outcome=\"success\"} 1"
/// ));
/// ```
#[must_use]
pub fn render_prometheus(servers: &[&ServerMetrics]) -> String {
    let mut out = String::new();
    render_latency(&mut out, servers);
    let outcomes = Outcome::ALL.map(|outcome| (outcome.label(), outcome.index()));
    let counts = |server: &ServerMetrics, index: usize| server.outcomes[index];
    let counter = ("ami_actions_total", "Actions ended, by outcome.", "outcome");
    render_by_label(&mut out, servers, counter, &outcomes, counts);
    let reasons = LoginFailure::ALL.map(|reason| (reason.label(), reason as usize));
    let counts = |server: &ServerMetrics, index: usize| server.login_failures[index];
    let counter = (
        "ami_login_failures_total",
        "Logins the server refused, by reason (authentication, permission, other).",
        "reason",
    );
    render_by_label(&mut out, servers, counter, &reasons, counts);
    for family in &FAMILIES {
        header(&mut out, family.name, family.kind, family.help);
        for server in servers {
            let _infallible = writeln!(
                out,
                "{}{{{}}} {}",
                family.name,
                server.labels,
                (family.value)(&server.counters)
            );
        }
    }
    out
}

/// A counter with one sample per server and value of one label:
/// `(name, help, label)`, the label's `(value, index)` pairs, and how to
/// read a server's count at an index.
fn render_by_label(
    out: &mut String,
    servers: &[&ServerMetrics],
    (name, help, label): (&str, &str, &str),
    values: &[(&str, usize)],
    count: impl Fn(&ServerMetrics, usize) -> u64,
) {
    header(out, name, "counter", help);
    for server in servers {
        for &(value, index) in values {
            let _infallible = writeln!(
                out,
                "{name}{{{},{label}=\"{value}\"}} {}",
                server.labels,
                count(server, index)
            );
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _infallible = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn render_latency(out: &mut String, servers: &[&ServerMetrics]) {
    let name = "ami_action_latency_seconds";
    header(
        out,
        name,
        "histogram",
        "Time from submitting an accepted action to its ending (refusals at submit are not in it).",
    );
    for server in servers {
        let mut cumulative = 0;
        for ((_, le), count) in LATENCY_BUCKETS.iter().zip(server.latency_buckets) {
            cumulative += count;
            let _infallible = writeln!(
                out,
                "{name}_bucket{{{},le=\"{le}\"}} {cumulative}",
                server.labels
            );
        }
        let labels = &server.labels;
        let (count, sum) = (server.latency_count, server.latency_sum_us);
        let _infallible = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let _infallible = writeln!(
            out,
            "{name}_sum{{{labels}}} {}.{:06}",
            sum / 1_000_000,
            sum % 1_000_000
        );
        let _infallible = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}
