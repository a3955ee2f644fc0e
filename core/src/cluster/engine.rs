//! [`Cluster`]: every server's session, their reconnects and health, and the
//! router — the single object a runtime drives.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::config::{ClusterConfig, ClusterConfigError, Routing};
use super::routing::{Failover, RoundRobin, RoutingStrategy, Sticky};
use super::turns::{Deadlines, HeapBytes, Turns};
use super::waiting::WaitQueue;
use crate::connection::{CloseReason, Session, SessionOutput, SubmitOptions};
use crate::correlation::{ActionHandle, AmiError, Bound, InstanceId, Response};
use crate::health::{BreakerState, ConnectionManager, HealthState, SeededRng};
use crate::observe::{Level, LogQueue, LogRecord, ServerMetrics, render_prometheus};
use crate::protocol::{Action, Frame, MAX_ACTION_ID_LEN};

/// A server's place in the cluster: its index in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(pub usize);

/// Where an action goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// Any healthy server, as the routing strategy picks.
    Any,
    /// The server the routing strategy picks for this key (a channel, an
    /// account); with `Sticky`, the same key keeps the same server.
    Key(&'a [u8]),
    /// This server, or a typed error at once if it is not healthy.
    Server(ServerId),
}

/// An action in the cluster, unique among the cluster's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClusterHandle {
    /// The server it went to when it was submitted; `None` when it waited
    /// in the cluster for a server (its completion names the server that
    /// took it, if one did).
    pub server: Option<ServerId>,
    /// Its handle on that server, or its number in the cluster's queue of
    /// waiting actions when `server` is `None`.
    pub action: ActionHandle,
}

impl std::fmt::Display for ClusterHandle {
    /// `3:17` for the action 17 of server 3, `waited:5` for the fifth
    /// action that waited in the cluster.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.server {
            Some(server) => write!(f, "{}:{}", server.0, self.action.0),
            None => write!(f, "waited:{}", self.action.0),
        }
    }
}

/// What the cluster tells its runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterOutput {
    /// Open a socket to `address`, then call `handle_connected` (or
    /// `handle_disconnected` if it fails).
    Connect {
        /// Which server.
        server: ServerId,
        /// Where.
        address: String,
    },
    /// Close this server's socket, then call `handle_disconnected`.
    Close {
        /// Which server.
        server: ServerId,
        /// Why.
        reason: CloseReason,
    },
    /// An action ended (exactly once).
    Completed {
        /// Which action.
        handle: ClusterHandle,
        /// The server that ended it; `None` for an action that waited in the
        /// cluster and ended there (its deadline, a shutdown).
        server: Option<ServerId>,
        /// Its answer or why there is none.
        result: Result<Response, AmiError>,
        /// From submission to this ending.
        latency: Duration,
    },
    /// An event from a server's bounded event queue.
    Event {
        /// Which server.
        server: ServerId,
        /// The event.
        event: Frame,
    },
    /// The server refused the login (a wrong secret, a refused `Events`
    /// value, a permission); the connection closes and the connection
    /// manager retries with backoff.
    LoginFailed {
        /// Which server.
        server: ServerId,
        /// The server's `Message`.
        message: String,
    },
    /// The client passed its memory budget and shut down at once.
    EmergencyShutdown {
        /// Heap bytes held when it happened.
        heap_bytes: usize,
        /// The budget.
        budget_bytes: usize,
    },
}

#[derive(Debug)]
pub(super) struct Server {
    pub(super) session: Session,
    manager: ConnectionManager,
    address: String,
    health: HealthState,
}

/// Every server of the client, driven as one sans-IO state machine.
///
/// Run loop (the same as every poller here): one `handle_*`, `submit` or
/// `shutdown`; then drain [`Cluster::poll_transmit`] (with
/// [`Cluster::consume`]), [`Cluster::poll_output`] and [`Cluster::poll_log`];
/// then wait for I/O or [`Cluster::poll_timeout`]. Servers share nothing:
/// each has its own session, buffers, ActionID space, breaker and metrics.
#[derive(Debug)]
pub struct Cluster {
    pub(super) servers: Vec<Server>,
    pub(super) router: Box<dyn RoutingStrategy + Send>,
    rng: SeededRng,
    outputs: VecDeque<ClusterOutput>,
    /// Heap bytes of the outputs waiting to be polled.
    outputs_bytes: usize,
    pub(super) logs: LogQueue,
    memory_budget_bytes: usize,
    shutting_down: bool,
    no_healthy_server: u64,
    /// Which servers may take an action, kept as health changes.
    pub(super) eligible: Vec<bool>,
    /// Whether any server has logged in since the cluster was built.
    ever_logged_in: bool,
    /// Which servers may queue an action for themselves until they log in
    /// (not logged in, not draining, not shut down), kept as health
    /// changes: an action for one server may wait there.
    waitable: Vec<bool>,
    /// Servers with bytes, events or log records waiting, in turn.
    transmits: Turns,
    events: Turns,
    server_logs: Turns,
    deadlines: Deadlines,
    heap: HeapBytes,
    /// Actions waiting for a server to become eligible.
    pub(super) waiting: WaitQueue,
    /// A waiting action's time limit when it gives none: the shortest
    /// `action_timeout` of the servers, as any of them may take it.
    pub(super) wait_timeout: Duration,
    /// A server became eligible while actions wait.
    pub(super) dispatch_due: bool,
}

impl Cluster {
    /// A cluster with every server due to connect at `now`. Pure: no I/O.
    ///
    /// # Errors
    /// [`ClusterConfigError`] for an empty or inconsistent configuration.
    pub fn new(config: ClusterConfig, seed: u64, now: Instant) -> Result<Self, ClusterConfigError> {
        config.validate()?;
        let mut rng = SeededRng::new(seed);
        let instance = InstanceId::from_seed(rng.next_u64());
        let router: Box<dyn RoutingStrategy + Send> = match &config.routing {
            Routing::RoundRobin => Box::new(RoundRobin::default()),
            Routing::Failover(order) => Box::new(Failover::new(order.clone())),
            Routing::Sticky => Box::new(Sticky::new(
                config.servers.iter().map(|s| s.session.server_key.as_str()),
            )),
        };
        let count = config.servers.len();
        let wait_timeout = config
            .servers
            .iter()
            .map(|server| server.session.action_timeout)
            .min()
            .unwrap_or_default();
        let mut servers = Vec::with_capacity(count);
        for (index, server) in config.servers.into_iter().enumerate() {
            let session = Session::new(server.session, instance)
                .map_err(|error| ClusterConfigError::Session { index, error })?;
            servers.push(Server {
                session,
                manager: ConnectionManager::new(config.backoff, config.breaker, now),
                address: server.address,
                health: HealthState::Disconnected,
            });
        }
        Ok(Self {
            servers,
            router,
            rng,
            outputs: VecDeque::new(),
            outputs_bytes: 0,
            logs: LogQueue::new(config.log_capacity),
            memory_budget_bytes: config.memory_budget_bytes,
            shutting_down: false,
            no_healthy_server: 0,
            eligible: vec![false; count],
            waitable: vec![false; count],
            ever_logged_in: false,
            transmits: Turns::default(),
            events: Turns::default(),
            server_logs: Turns::default(),
            deadlines: Deadlines::new(count),
            heap: HeapBytes::new(count),
            waiting: WaitQueue::new(config.max_waiting_actions),
            wait_timeout,
            dispatch_due: false,
        })
        .map(|mut cluster| {
            for index in 0..count {
                cluster.refresh(index);
            }
            cluster
        })
    }

    /// How many servers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Whether the cluster has no server (never true once built).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// A server's health, as last derived from the facts.
    #[must_use]
    pub fn health(&self, server: ServerId) -> Option<HealthState> {
        self.servers.get(server.0).map(|s| s.health)
    }

    /// A server's session (read-only: its state, metrics, pending count).
    #[must_use]
    pub fn session(&self, server: ServerId) -> Option<&Session> {
        self.servers.get(server.0).map(|s| &s.session)
    }

    /// Whether any server has logged in since the cluster was built (a
    /// runtime lets actions wait for a server until then).
    #[must_use]
    pub const fn ever_logged_in(&self) -> bool {
        self.ever_logged_in
    }

    /// Actions refused because no server was eligible.
    #[must_use]
    pub const fn no_healthy_server_count(&self) -> u64 {
        self.no_healthy_server
    }

    /// The server's socket is open.
    pub fn handle_connected(&mut self, server: ServerId, now: Instant) {
        if let Some(slot) = self.servers.get_mut(server.0) {
            slot.session.handle_connected(now);
        }
        self.after(server);
        self.dispatch_waiting(now);
    }

    /// Bytes read from the server's socket.
    pub fn handle_input(&mut self, server: ServerId, bytes: &[u8], now: Instant) {
        if let Some(slot) = self.servers.get_mut(server.0) {
            slot.session.handle_input(bytes, now);
        }
        self.after(server);
        self.dispatch_waiting(now);
        self.check_memory(now);
    }

    /// The server's socket closed, or the connect failed. Pending actions of
    /// that server end with `ConnectionLost`; the connection manager picks
    /// the next attempt.
    pub fn handle_disconnected(&mut self, server: ServerId, now: Instant) {
        let Some(slot) = self.servers.get_mut(server.0) else {
            return;
        };
        slot.session.handle_disconnected(now);
        if self.shutting_down {
            slot.manager.stop();
        } else {
            if slot.session.take_restart_expected() {
                // The server said it restarts: try again at the base
                // delay, not from deep in the backoff.
                slot.manager.expect_restart(now);
            }
            let delay = slot.manager.on_failure(now, &mut self.rng);
            let breaker = slot.manager.breaker();
            self.logs.push(
                LogRecord::new(Level::Info, "reconnect scheduled")
                    .server(
                        slot.session.server_key().as_str(),
                        slot.session.server_host(),
                    )
                    .count(
                        "delay_ms",
                        u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    )
                    .text("breaker", format!("{breaker:?}")),
            );
        }
        self.after(server);
    }

    /// The tick, for every server whose deadline has come, earliest first:
    /// timeout sweep and heartbeats (the session's), reconnect timers,
    /// health. Servers with nothing due are not visited.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire_waiting(now);
        for index in self.deadlines.due(now) {
            self.servers[index].session.handle_timeout(now);
            self.after(ServerId(index));
            let slot = &mut self.servers[index];
            if !self.shutting_down && slot.manager.poll_attempt(now) {
                if slot.manager.attempts() > 1 {
                    slot.session.counters_mut().reconnects += 1;
                }
                slot.session.handle_connecting();
                let address = slot.address.clone();
                self.push_output(ClusterOutput::Connect {
                    server: ServerId(index),
                    address,
                });
            }
            self.refresh(index);
        }
        self.dispatch_waiting(now);
    }

    /// Routes and submits an action.
    ///
    /// # Errors
    /// [`AmiError::ShuttingDown`] after a shutdown; [`AmiError::NoHealthyServer`]
    /// when no server is eligible; for an explicit server,
    /// [`AmiError::UnknownServer`], [`AmiError::CircuitOpen`] or
    /// [`AmiError::ServerUnavailable`]; and the session's own refusals.
    pub fn submit(
        &mut self,
        action: Action,
        route: Route<'_>,
        options: SubmitOptions,
        now: Instant,
    ) -> Result<ClusterHandle, AmiError> {
        if self.shutting_down {
            return Err(AmiError::ShuttingDown);
        }
        // Actions that waited go first, in the order they came.
        self.dispatch_waiting(now);
        let held = self.heap_size();
        let length = action.encoded_len(Some(MAX_ACTION_ID_LEN));
        if held + length > self.memory_budget_bytes {
            self.logs.push(
                LogRecord::new(
                    Level::Warn,
                    "action rejected: the client memory budget is full",
                )
                .text("action", action.name())
                .count("heap_bytes", held as u64)
                .count("budget_bytes", self.memory_budget_bytes as u64),
            );
            return Err(AmiError::Rejected {
                bound: Bound::MemoryBudget,
                depth: held,
                limit: self.memory_budget_bytes,
            });
        }
        let index = match route {
            Route::Server(ServerId(index)) => match self.servers.get(index).map(|s| s.health) {
                None => return Err(AmiError::UnknownServer { index }),
                Some(HealthState::Healthy) => index,
                Some(_) if options.wait_for_server == Some(true) && self.waitable[index] => index,
                Some(HealthState::CircuitOpen) => return Err(AmiError::CircuitOpen),
                Some(_) => return Err(AmiError::ServerUnavailable),
            },
            Route::Any | Route::Key(_) => {
                let key = match route {
                    Route::Key(key) => Some(key),
                    _ => None,
                };
                let chosen = self.router.choose(&self.eligible, key);
                if chosen.is_none() && options.wait_for_server == Some(true) {
                    // Nobody can take it now: it waits in the cluster for
                    // the first server that can, whichever it is.
                    return self.hold(action, key, options, now);
                }
                let Some(index) = chosen else {
                    self.no_healthy_server += 1;
                    self.logs.push(
                        LogRecord::new(Level::Warn, "no healthy server for an action")
                            .text("action", action.name())
                            .count("servers", self.servers.len() as u64),
                    );
                    return Err(AmiError::NoHealthyServer);
                };
                index
            }
        };
        let slot = &mut self.servers[index];
        let submitted = slot.session.submit(action, options, now);
        if submitted.is_ok() {
            // Only what went to the server counts as routed to it.
            slot.session.counters_mut().routed_actions += 1;
        }
        self.after(ServerId(index));
        Ok(ClusterHandle {
            server: Some(ServerId(index)),
            action: submitted?,
        })
    }

    /// Shuts every server down: no new actions, pending ones end or fail at
    /// the grace deadline, `Logoff` goes out, sockets close, no reconnects.
    pub fn shutdown(&mut self, now: Instant) {
        self.shutting_down = true;
        self.end_all_waiting(now);
        for index in 0..self.servers.len() {
            self.servers[index].manager.stop();
            self.servers[index].session.shutdown(now);
            self.after(ServerId(index));
        }
    }

    /// The next server with bytes to write and the bytes; servers take turns.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<(ServerId, &[u8])> {
        let index = self.transmits.current()?;
        self.transmits.served(index);
        let bytes = self.servers[index].session.poll_transmit()?;
        Some((ServerId(index), bytes))
    }

    /// The server's socket took `count` bytes.
    pub fn consume(&mut self, server: ServerId, count: usize) {
        if let Some(slot) = self.servers.get_mut(server.0) {
            slot.session.consume(count);
        }
        // Consuming lets queued actions into the buffer: the same
        // bookkeeping as any other change.
        self.after(server);
    }

    /// The next output: connects, closes and completions first, then one
    /// event per server in turn, so a flooded server cannot starve others.
    pub fn poll_output(&mut self) -> Option<ClusterOutput> {
        self.poll_control().or_else(|| {
            self.poll_event()
                .map(|(server, event)| ClusterOutput::Event { server, event })
        })
    }

    /// The next output that is not an event (connects, closes, completions,
    /// login failures, an emergency shutdown). A runtime that hands events
    /// over only as fast as its application takes them drains these at
    /// once and leaves events in the servers' bounded queues until
    /// [`Cluster::poll_event`].
    pub fn poll_control(&mut self) -> Option<ClusterOutput> {
        let output = self.outputs.pop_front()?;
        self.outputs_bytes -= output_size(&output);
        Some(output)
    }

    /// The next event, one server per call in turn, so a flooded server
    /// cannot starve the others. Events left here are the ones the bounded
    /// drop-oldest queues drop when the application lags.
    pub fn poll_event(&mut self) -> Option<(ServerId, Frame)> {
        let index = self.events.current()?;
        self.events.served(index);
        let event = self.servers[index].session.poll_event();
        // Taking an event changes the server's queue, its heap and perhaps
        // its logs (a drop burst's report): nothing a deadline, a transmit
        // or its health depends on.
        self.refresh_queues(index);
        Some((ServerId(index), event?))
    }

    /// Counts events of `server` that were taken out of its queue but never
    /// reached the application (a consumer let them go unread), in the
    /// server's `ami_dropped_events_total`.
    pub fn count_dropped_events(&mut self, server: ServerId, count: u64) {
        if let Some(slot) = self.servers.get_mut(server.0) {
            slot.session.counters_mut().dropped_events += count;
        }
    }

    /// The server with this key, if the cluster has one.
    #[must_use]
    pub fn server_by_key(&self, key: &str) -> Option<ServerId> {
        self.servers
            .iter()
            .position(|slot| slot.session.server_key().as_str() == key)
            .map(ServerId)
    }

    /// The next log record: the cluster's own, then each server's in turn.
    pub fn poll_log(&mut self) -> Option<LogRecord> {
        if let Some(record) = self.logs.pop() {
            return Some(record);
        }
        let index = self.server_logs.current()?;
        self.server_logs.served(index);
        let record = self.servers[index].session.poll_log();
        self.refresh(index);
        record
    }

    /// The earliest deadline over every server's session and reconnect timer.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.deadlines.earliest(), self.waiting.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Heap bytes held by every server's buffers and queues.
    #[must_use]
    pub fn heap_size(&self) -> usize {
        self.heap.total()
            + self.outputs_bytes
            + self.outputs.capacity() * size_of::<ClusterOutput>()
            + self.logs.heap_size()
            + self.waiting.heap_size()
    }

    /// Every server's metrics in the Prometheus text format, plus the
    /// cluster's own counter of actions with no healthy server.
    #[must_use]
    pub fn metrics_text(&self) -> String {
        let servers: Vec<&ServerMetrics> =
            self.servers.iter().map(|s| s.session.metrics()).collect();
        let mut text = render_prometheus(&servers);
        let cluster_wide = [
            (
                "ami_no_healthy_server_total",
                "Actions refused because no server was eligible.",
                "counter",
                self.no_healthy_server,
            ),
            (
                "ami_waiting_actions",
                "Actions waiting in the cluster for a server to become eligible.",
                "gauge",
                self.waiting.len() as u64,
            ),
            (
                "ami_wait_timeouts_total",
                "Actions that reached their deadline while waiting for a server.",
                "counter",
                self.waiting.timeouts(),
            ),
            (
                "ami_wait_refused_total",
                "Actions refused because the queue of waiting actions was full.",
                "counter",
                self.waiting.refused(),
            ),
        ];
        for (name, help, kind, value) in cluster_wide {
            let _infallible = writeln!(
                text,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        text
    }

    /// Takes a server's control outputs and completions at once (events stay
    /// in its bounded queue) and updates its connection manager and health.
    /// Takes the session's control outputs, then brings the server's
    /// bookkeeping up to date.
    pub(super) fn after(&mut self, server: ServerId) {
        let Some(slot) = self.servers.get_mut(server.0) else {
            return;
        };
        while let Some(output) = slot.session.poll_control() {
            let output = match output {
                SessionOutput::Completed(completion) => {
                    let (handle, result, latency) =
                        match self.waiting.ended(server.0, completion.handle.0) {
                            None => (
                                ClusterHandle {
                                    server: Some(server),
                                    action: completion.handle,
                                },
                                completion.result,
                                completion.latency,
                            ),
                            // It waited first: its own handle, its whole time
                            // limit and its whole latency.
                            Some(waited) => (
                                ClusterHandle {
                                    server: None,
                                    action: ActionHandle(waited.id),
                                },
                                completion.result.map_err(|error| match error {
                                    AmiError::Timeout { .. } => AmiError::Timeout {
                                        after: waited.timeout,
                                    },
                                    other => other,
                                }),
                                completion.latency + waited.waited,
                            ),
                        };
                    ClusterOutput::Completed {
                        handle,
                        server: Some(server),
                        result,
                        latency,
                    }
                }
                SessionOutput::Close { reason } => ClusterOutput::Close { server, reason },
                SessionOutput::LoginFailed { message } => {
                    ClusterOutput::LoginFailed { server, message }
                }
                SessionOutput::LoggedIn => {
                    slot.manager.on_up();
                    self.ever_logged_in = true;
                    continue;
                }
                SessionOutput::Event(_) => continue,
            };
            self.outputs_bytes += output_size(&output);
            self.outputs.push_back(output);
        }
        self.refresh(server.0);
    }

    pub(super) fn push_output(&mut self, output: ClusterOutput) {
        self.outputs_bytes += output_size(&output);
        self.outputs.push_back(output);
    }

    /// Everything the cluster keeps about one server, re-read after it
    /// changed: health, deadline, heap bytes, and what it has waiting.
    /// Constant work per call, whatever the number of servers.
    fn refresh(&mut self, index: usize) {
        self.evaluate_health(index);
        let slot = &self.servers[index];
        let session = &slot.session;
        let deadline = [session.poll_timeout(), slot.manager.next_deadline()]
            .into_iter()
            .flatten()
            .min();
        self.deadlines.set(index, deadline);
        self.transmits.set(index, session.poll_transmit().is_some());
        self.refresh_queues(index);
    }

    /// What taking an event from server `index` may change.
    fn refresh_queues(&mut self, index: usize) {
        let session = &self.servers[index].session;
        self.heap.set(index, session.heap_size());
        self.events.set(index, session.has_events());
        self.server_logs.set(index, session.has_logs());
    }

    fn evaluate_health(&mut self, index: usize) {
        let slot = &mut self.servers[index];
        let breaker = slot.manager.breaker();
        let health = HealthState::from_facts(slot.session.state(), breaker);
        slot.session.counters_mut().health_state = u64::from(health.code());
        slot.session.counters_mut().circuit_state = match breaker {
            BreakerState::Closed { .. } => 0,
            BreakerState::HalfOpen { .. } => 1,
            BreakerState::Open { .. } => 2,
        };
        if health != slot.health {
            self.logs.push(
                LogRecord::new(Level::Info, "server health changed")
                    .server(
                        slot.session.server_key().as_str(),
                        slot.session.server_host(),
                    )
                    .text("from", format!("{:?}", slot.health))
                    .text("to", format!("{health:?}")),
            );
            slot.health = health;
        }
        self.eligible[index] = health.is_eligible();
        if self.eligible[index] && !self.waiting.is_empty() {
            self.dispatch_due = true;
        }
        self.waitable[index] = !self.shutting_down
            && matches!(health, HealthState::Disconnected | HealthState::CircuitOpen);
    }

    fn check_memory(&mut self, now: Instant) {
        let heap_bytes = self.heap_size();
        if heap_bytes <= self.memory_budget_bytes || self.shutting_down {
            return;
        }
        self.shutting_down = true;
        self.logs.push(
            LogRecord::new(
                Level::Error,
                "client memory budget exceeded; emergency shutdown",
            )
            .count("heap_bytes", heap_bytes as u64)
            .count("budget_bytes", self.memory_budget_bytes as u64),
        );
        self.push_output(ClusterOutput::EmergencyShutdown {
            heap_bytes,
            budget_bytes: self.memory_budget_bytes,
        });
        self.end_all_waiting(now);
        for index in 0..self.servers.len() {
            self.servers[index].manager.stop();
            self.servers[index]
                .session
                .abort(CloseReason::MemoryBudget, now);
            self.after(ServerId(index));
        }
    }
}

/// Heap bytes an output holds (a completion's response, a message).
fn output_size(output: &ClusterOutput) -> usize {
    match output {
        ClusterOutput::Completed { result, .. } => result.as_ref().map_or(0, Response::heap_size),
        ClusterOutput::Connect { address, .. } => address.capacity(),
        ClusterOutput::LoginFailed { message, .. } => message.capacity(),
        ClusterOutput::Event { event, .. } => event.heap_size(),
        ClusterOutput::Close { .. } | ClusterOutput::EmergencyShutdown { .. } => 0,
    }
}
