//! A cluster under test with a minimal in-test Asterisk per server: it
//! answers `Login` and `Ping` with success, anything else with `Success` and
//! the action's name, and can refuse connections or stay silent.

// Each test file uses its own part.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::time::Instant;

use apn_ami_core::cluster::{
    Cluster, ClusterConfig, ClusterHandle, ClusterOutput, Route, Routing, ServerConfig, ServerId,
};
use apn_ami_core::connection::{AuthMethod, SessionConfig, SubmitOptions};
use apn_ami_core::correlation::{AmiError, ServerKey};
use apn_ami_core::observe::{LogRecord, Secret};
use apn_ami_core::protocol::{Action, Parser, ParserConfig};

/// How one fake server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    /// Accepts, logs in, answers everything.
    Up,
    /// Refuses every connection.
    Refuse,
    /// Accepts and logs in, then never answers again.
    Mute,
    /// The connect stays under way until the test finishes it.
    Hold,
    /// Logged in, and answers every action as Asterisk does while it shuts
    /// down: `Response: Error`, `Message: Asterisk is shutting down`.
    ShuttingDown,
}

pub(crate) struct ClusterRig {
    pub(crate) cluster: Cluster,
    pub(crate) t0: Instant,
    pub(crate) ms: u64,
    pub(crate) behaviour: Vec<Behaviour>,
    parsers: Vec<Parser>,
    pub(crate) connects: Vec<(u64, ServerId)>,
    pub(crate) completed: Vec<(ClusterHandle, Result<String, AmiError>)>,
    pub(crate) events: Vec<ServerId>,
    pub(crate) outputs: Vec<ClusterOutput>,
    pub(crate) logs: Vec<LogRecord>,
}

pub(crate) fn cluster_config(servers: usize, routing: Routing) -> ClusterConfig {
    let servers = (0..servers)
        .map(|n| {
            let mut session = SessionConfig::new(
                ServerKey::new(&format!("pbx{n}")).unwrap(),
                &format!("127.0.0.1:{}", 5038 + n),
                "admin",
                Secret::new("secret"),
            );
            session.auth = AuthMethod::Plain;
            ServerConfig {
                session,
                address: format!("127.0.0.1:{}", 5038 + n),
            }
        })
        .collect();
    let mut config = ClusterConfig::new(servers);
    config.routing = routing;
    config
}

impl ClusterRig {
    pub(crate) fn new(config: ClusterConfig, seed: u64) -> Self {
        let t0 = super::frames::epoch();
        let servers = config.servers.len();
        Self {
            cluster: Cluster::new(config, seed, t0).expect("valid config"),
            t0,
            ms: 0,
            behaviour: vec![Behaviour::Up; servers],
            parsers: (0..servers)
                .map(|_| Parser::new(ParserConfig::server()).unwrap())
                .collect(),
            connects: Vec::new(),
            completed: Vec::new(),
            events: Vec::new(),
            outputs: Vec::new(),
            logs: Vec::new(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        super::frames::at(self.t0, self.ms)
    }

    /// Moves the clock to `ms`, ticks, and pumps until quiet.
    pub(crate) fn tick(&mut self, ms: u64) {
        self.ms = ms;
        let now = self.now();
        self.cluster.handle_timeout(now);
        self.pump();
        if let Some(next) = self.cluster.poll_timeout() {
            assert!(next >= self.t0);
        }
    }

    /// Runs the clock from now to `until` ms, waking at every deadline.
    pub(crate) fn run_until(&mut self, until: u64) {
        loop {
            let next = self.cluster.poll_timeout().map_or(until, |at| {
                u64::try_from(at.duration_since(self.t0).as_millis()).unwrap()
            });
            let next = next.max(self.ms).min(until);
            self.tick(next);
            if next >= until {
                return;
            }
        }
    }

    pub(crate) fn submit(
        &mut self,
        action: Action,
        route: Route<'_>,
    ) -> Result<ClusterHandle, AmiError> {
        let now = self.now();
        let result = self
            .cluster
            .submit(action, route, SubmitOptions::default(), now);
        self.pump();
        result
    }

    pub(crate) fn ping(&mut self, route: Route<'_>) -> Result<ClusterHandle, AmiError> {
        self.submit(Action::new("Ping").unwrap(), route)
    }

    /// Carries bytes both ways and acts on outputs until nothing moves.
    pub(crate) fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some((server, bytes)) = self.cluster.poll_transmit() {
                let bytes = bytes.to_vec();
                self.cluster.consume(server, bytes.len());
                moved = true;
                let reply = self.answer(server, &bytes);
                if !reply.is_empty() {
                    let now = self.now();
                    self.cluster.handle_input(server, reply.as_bytes(), now);
                }
            }
            while let Some(output) = self.cluster.poll_output() {
                moved = true;
                self.on_output(output);
            }
            while let Some(record) = self.cluster.poll_log() {
                self.logs.push(record);
            }
            if !moved {
                return;
            }
        }
    }

    fn on_output(&mut self, output: ClusterOutput) {
        let now = self.now();
        match &output {
            ClusterOutput::Connect { server, .. } => {
                self.connects.push((self.ms, *server));
                match self.behaviour[server.0] {
                    Behaviour::Refuse => self.cluster.handle_disconnected(*server, now),
                    Behaviour::Hold => {}
                    Behaviour::Up | Behaviour::Mute | Behaviour::ShuttingDown => {
                        self.parsers[server.0].reset();
                        self.cluster.handle_connected(*server, now);
                        self.cluster.handle_input(
                            *server,
                            b"Asterisk Call Manager/11.0.0\r\n",
                            now,
                        );
                    }
                }
            }
            ClusterOutput::Close { server, .. } => self.cluster.handle_disconnected(*server, now),
            ClusterOutput::Completed { handle, result, .. } => {
                let summary = result.as_ref().map(|response| {
                    format!(
                        "{} {}",
                        response.frame().first_value(),
                        response
                            .message()
                            .map(|m| m.to_string())
                            .unwrap_or_default()
                    )
                });
                self.completed
                    .push((*handle, summary.map_err(Clone::clone)));
            }
            ClusterOutput::Event { server, .. } => self.events.push(*server),
            ClusterOutput::EmergencyShutdown { .. } | ClusterOutput::LoginFailed { .. } => {}
        }
        self.outputs.push(output);
    }

    /// The fake server's answers to the bytes it received.
    fn answer(&mut self, server: ServerId, bytes: &[u8]) -> String {
        let mut actions = Vec::new();
        self.parsers[server.0]
            .feed(bytes, |item| actions.extend(item.into_frame()))
            .unwrap();
        let mut reply = String::new();
        for action in actions {
            let name = action.first_value().to_string();
            let id = action
                .action_id()
                .map(|id| id.to_string())
                .unwrap_or_default();
            let logged_in = name == "Login";
            if self.behaviour[server.0] == Behaviour::Mute && !logged_in {
                continue;
            }
            let message = match name.as_str() {
                "Login" => "Authentication accepted".to_owned(),
                "Logoff" => "Thanks for all the fish.".to_owned(),
                other => format!("{other} done on pbx{}", server.0),
            };
            let (status, message) = match name.as_str() {
                "Logoff" => ("Goodbye", message),
                _ if self.behaviour[server.0] == Behaviour::ShuttingDown && !logged_in => {
                    ("Error", "Asterisk is shutting down".to_owned())
                }
                _ => ("Success", message),
            };
            write!(
                reply,
                "Response: {status}\r\nActionID: {id}\r\nMessage: {message}\r\n\r\n"
            )
            .unwrap();
        }
        reply
    }

    /// Floods `server` with `count` events.
    pub(crate) fn flood(&mut self, server: ServerId, count: usize) {
        let mut events = String::new();
        for n in 0..count {
            write!(events, "Event: Newstate\r\nChannel: PJSIP/{n}\r\n\r\n").unwrap();
        }
        let now = self.now();
        self.cluster.handle_input(server, events.as_bytes(), now);
        self.pump();
    }
}
