//! The session and cluster state machines under arbitrary interleavings:
//! settings, instants (backwards and repeated too), bytes (answers to
//! written actions, forged answers to unwritten ones, events, garbage),
//! submits with arbitrary options, and runtime mistakes (consuming more
//! than was offered, input and connects after a close, connects nobody
//! asked for).
//!
//! Checks: no panic; every accepted action ends exactly once by the end
//! (after a shutdown and every socket closing); no completion for an action
//! that was never accepted; the heap within the client-wide budget once the
//! outputs are drained.
#![no_main]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use apn_ami_core::cluster::{
    Cluster, ClusterConfig, ClusterHandle, ClusterOutput, Route, Routing, ServerConfig, ServerId,
};
use apn_ami_core::connection::{AuthMethod, SessionConfig, SubmitOptions};
use apn_ami_core::correlation::{CompletionStrategy, ServerKey};
use apn_ami_core::observe::Secret;
use apn_ami_core::protocol::{Action, Parser, ParserConfig};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Settings {
    servers: u8,
    md5: bool,
    routing: u8,
    max_pending: u8,
    queued_before_login: u8,
    event_queue: u8,
    outbound_kib: u8,
    session_budget_kib: u16,
    client_budget_kib: u16,
    action_timeout_ms: u16,
    heartbeat_ms: u16,
    grace_ms: u16,
    max_list_items: u8,
}

#[derive(Debug, Arbitrary)]
enum Op {
    /// Moves the clock by this many ms, backwards too; then ticks.
    Clock(i16),
    /// Ticks at the same instant again.
    Tick,
    Connected(u8),
    Disconnected(u8),
    Banner(u8),
    /// The socket takes this many bytes (possibly more than offered).
    Consume(u8, u16),
    /// The socket takes everything offered.
    Flush(u8),
    /// Arbitrary bytes from the server.
    Bytes(u8, Vec<u8>),
    /// Answers the nth ActionID the server has read (login included).
    Answer {
        server: u8,
        nth: u8,
        kind: u8,
    },
    /// Answers an ActionID the server has not read: `offset` past the last.
    Forge {
        server: u8,
        offset: u8,
        kind: u8,
    },
    /// A list item or completion naming the nth ActionID read.
    ListEvent {
        server: u8,
        nth: u8,
        complete: bool,
    },
    /// An event nobody asked for.
    Event(u8),
    Submit {
        route: u8,
        name: u8,
        timeout_ms: Option<u32>,
        strategy: Option<u8>,
        wait: Option<bool>,
    },
    Shutdown,
}

const NAMES: [&str; 6] = [
    "Ping",
    "Command",
    "CoreShowChannels",
    "Originate",
    "Status",
    "Queues",
];

fn config(settings: &Settings) -> ClusterConfig {
    let count = 1 + usize::from(settings.servers % 3);
    let heartbeat = Duration::from_millis(2 + u64::from(settings.heartbeat_ms));
    let servers = (0..count)
        .map(|n| {
            let mut session = SessionConfig::new(
                ServerKey::new(&format!("pbx{n}")).expect("valid key"),
                "127.0.0.1:5038",
                "admin",
                Secret::new("secret"),
            );
            session.auth = if settings.md5 {
                AuthMethod::Md5
            } else {
                AuthMethod::Plain
            };
            session.registry.max_pending = 1 + usize::from(settings.max_pending % 32);
            session.registry.max_list_items = 1 + usize::from(settings.max_list_items % 8);
            session.max_queued_before_login = 1 + usize::from(settings.queued_before_login % 32);
            session.event_queue_capacity = 1 + usize::from(settings.event_queue % 64);
            session.max_outbound_bytes = 1024 * (1 + usize::from(settings.outbound_kib % 16));
            session.parser = ParserConfig::default()
                .max_frame_size(1024)
                .max_resync_bytes(4096);
            session.memory_budget_bytes =
                2048 + 1024 * usize::from(settings.session_budget_kib % 512);
            session.action_timeout =
                Duration::from_millis(1 + u64::from(settings.action_timeout_ms));
            session.heartbeat_interval = heartbeat;
            session.heartbeat_timeout = heartbeat / 2;
            session.shutdown_grace = Duration::from_millis(u64::from(settings.grace_ms));
            ServerConfig {
                session,
                address: "127.0.0.1:5038".to_owned(),
            }
        })
        .collect();
    let mut config = ClusterConfig::new(servers);
    config.routing = match settings.routing % 3 {
        0 => Routing::RoundRobin,
        1 => Routing::Sticky,
        _ => Routing::Failover((0..count).rev().collect()),
    };
    let smallest = config.servers[0].session.smallest_memory_budget();
    config.memory_budget_bytes = smallest + 1024 * usize::from(settings.client_budget_kib % 2048);
    config
}

/// The fuzzed runtime around the cluster.
struct Run {
    cluster: Cluster,
    t0: Instant,
    ms: i64,
    /// What each server's socket took, parsed, to learn the ActionIDs.
    readers: Vec<Parser>,
    ids: Vec<Vec<String>>,
    accepted: HashMap<ClusterHandle, u32>,
    /// The client-wide memory budget.
    budget: usize,
}

impl Run {
    fn now(&self) -> Instant {
        self.t0 + Duration::from_millis(u64::try_from(self.ms).unwrap_or(0))
    }

    fn server(&self, index: u8) -> ServerId {
        ServerId(usize::from(index) % self.cluster.len())
    }

    fn drain(&mut self) {
        let now = self.now();
        while let Some(output) = self.cluster.poll_output() {
            match output {
                ClusterOutput::Completed { handle, .. } => {
                    let endings = self
                        .accepted
                        .get_mut(&handle)
                        .unwrap_or_else(|| panic!("{handle:?} ended but was never accepted"));
                    *endings += 1;
                    assert_eq!(*endings, 1, "{handle:?} ended twice");
                }
                ClusterOutput::Close { server, .. } => {
                    self.cluster.handle_disconnected(server, now)
                }
                ClusterOutput::Connect { .. }
                | ClusterOutput::Event { .. }
                | ClusterOutput::LoginFailed { .. }
                | ClusterOutput::EmergencyShutdown { .. } => {}
            }
        }
        while self.cluster.poll_log().is_some() {}
    }

    fn consume(&mut self, server: ServerId, count: usize) {
        let Some((from, bytes)) = self.cluster.poll_transmit() else {
            // Runtime mistake: consuming with nothing offered.
            self.cluster.consume(server, count);
            return;
        };
        let taken = bytes[..count.min(bytes.len())].to_vec();
        self.cluster.consume(from, count);
        let ids = &mut self.ids[from.0];
        self.readers[from.0]
            .feed(&taken, |item| {
                if let Some(id) = item.as_frame().and_then(|frame| frame.action_id()) {
                    ids.push(id.to_string());
                }
            })
            .ok();
    }

    fn answer(&mut self, server: ServerId, id: &str, kind: u8) {
        let wire = match kind % 5 {
            0 => format!(
                "Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\nChallenge: 1234\r\nPing: Pong\r\n\r\n"
            ),
            1 => format!("Response: Error\r\nActionID: {id}\r\nMessage: Permission denied\r\n\r\n"),
            2 => format!("Response: Success\r\nActionID: {id}\r\nEventList: start\r\n\r\n"),
            3 => format!("Response: Goodbye\r\nActionID: {id}\r\nMessage: Thanks\r\n\r\n"),
            _ => format!(
                "Response: Follows\r\nActionID: {id}\r\nOutput: x\r\n--END COMMAND--\r\n\r\n"
            ),
        };
        let now = self.now();
        self.cluster.handle_input(server, wire.as_bytes(), now);
    }

    fn apply(&mut self, op: Op) {
        let now = self.now();
        match op {
            Op::Clock(delta) => {
                self.ms = (self.ms + i64::from(delta)).max(0);
                let now = self.now();
                self.cluster.handle_timeout(now);
            }
            Op::Tick => self.cluster.handle_timeout(now),
            Op::Connected(server) => self.cluster.handle_connected(self.server(server), now),
            Op::Disconnected(server) => self.cluster.handle_disconnected(self.server(server), now),
            Op::Banner(server) => {
                let server = self.server(server);
                self.readers[server.0] = Parser::new(ParserConfig::server()).expect("valid");
                self.cluster
                    .handle_input(server, b"Asterisk Call Manager/11.0.0\r\n", now);
            }
            Op::Consume(server, count) => self.consume(self.server(server), usize::from(count)),
            Op::Flush(server) => self.consume(self.server(server), usize::MAX),
            Op::Bytes(server, bytes) => self.cluster.handle_input(self.server(server), &bytes, now),
            Op::Answer { server, nth, kind } => {
                let server = self.server(server);
                let ids = &self.ids[server.0];
                if let Some(id) = ids.get(usize::from(nth) % ids.len().max(1)).cloned() {
                    self.answer(server, &id, kind);
                }
            }
            Op::Forge {
                server,
                offset,
                kind,
            } => {
                let server = self.server(server);
                if let Some(last) = self.ids[server.0].last().cloned()
                    && let Some((prefix, sequence)) = last.rsplit_once(':')
                    && let Ok(sequence) = sequence.parse::<u64>()
                {
                    let forged = format!("{prefix}:{}", sequence + 1 + u64::from(offset));
                    self.answer(server, &forged, kind);
                }
            }
            Op::ListEvent {
                server,
                nth,
                complete,
            } => {
                let server = self.server(server);
                let ids = &self.ids[server.0];
                if let Some(id) = ids.get(usize::from(nth) % ids.len().max(1)).cloned() {
                    let tail = if complete {
                        "EventList: Complete\r\n"
                    } else {
                        ""
                    };
                    let wire = format!("Event: CoreShowChannel\r\nActionID: {id}\r\n{tail}\r\n");
                    self.cluster.handle_input(server, wire.as_bytes(), now);
                }
            }
            Op::Event(server) => self.cluster.handle_input(
                self.server(server),
                b"Event: Newchannel\r\nChannel: PJSIP/1\r\n\r\n",
                now,
            ),
            Op::Submit {
                route,
                name,
                timeout_ms,
                strategy,
                wait,
            } => {
                let action = Action::new(NAMES[usize::from(name) % NAMES.len()]).expect("valid");
                let key = [route];
                let route = match route % 3 {
                    0 => Route::Any,
                    1 => Route::Key(&key),
                    _ => Route::Server(ServerId(usize::from(route) % 4)),
                };
                let options = SubmitOptions {
                    timeout: timeout_ms.map(|ms| {
                        if ms == u32::MAX {
                            Duration::MAX
                        } else {
                            Duration::from_millis(u64::from(ms))
                        }
                    }),
                    strategy: strategy.map(|s| match s % 4 {
                        0 => CompletionStrategy::Single,
                        1 => CompletionStrategy::List,
                        2 => CompletionStrategy::Headerless,
                        _ => CompletionStrategy::Follows,
                    }),
                    wait_for_server: wait,
                };
                if let Ok(handle) = self.cluster.submit(action, route, options, now) {
                    assert!(
                        self.accepted.insert(handle, 0).is_none(),
                        "{handle:?} accepted twice"
                    );
                }
            }
            Op::Shutdown => self.cluster.shutdown(now),
        }
        self.drain();
        let budget = self.budget;
        assert!(
            self.cluster.heap_size() <= budget,
            "heap {} over the budget {budget}",
            self.cluster.heap_size()
        );
    }
}

fuzz_target!(|input: (Settings, Vec<Op>)| {
    let (settings, ops) = input;
    let config = config(&settings);
    let budget = config.memory_budget_bytes;
    let servers = config.servers.len();
    #[allow(clippy::disallowed_methods)] // the run's one clock read; all else is offsets
    let t0 = Instant::now();
    let Ok(cluster) = Cluster::new(config, 7, t0) else {
        return;
    };
    let mut run = Run {
        cluster,
        t0,
        ms: 0,
        readers: (0..servers)
            .map(|_| Parser::new(ParserConfig::server()).expect("valid"))
            .collect(),
        ids: vec![Vec::new(); servers],
        accepted: HashMap::new(),
        budget,
    };
    for op in ops.into_iter().take(512) {
        run.apply(op);
    }
    // The end: shut down, every socket closes, time passes.
    let now = run.now();
    run.cluster.shutdown(now);
    run.drain();
    for server in 0..servers {
        run.cluster.handle_disconnected(ServerId(server), now);
    }
    run.drain();
    run.ms += 1_000_000;
    let later = run.now();
    run.cluster.handle_timeout(later);
    run.drain();
    for (handle, endings) in &run.accepted {
        assert_eq!(*endings, 1, "{handle:?} ended {endings} times");
    }
    assert_eq!(
        run.cluster.poll_timeout(),
        None,
        "a timer outlived the shutdown"
    );
});
