//! [`Driver`]: the one task that owns the core and every connection.
//!
//! It waits on the command channel, every connection's readiness, the event
//! hand-off and one timer armed at the core's `poll_timeout` (or sooner, at
//! the end of a [`ReadPause`]); it feeds bytes and instants in and drains
//! every poller (str0m's rule: mutate, then drain until empty). It never
//! sleeps: the only timer is those deadlines.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use apn_ami_core::cluster::{Cluster, ClusterHandle, ClusterOutput, Route, ServerId};
use apn_ami_core::connection::{CloseReason, Session, SessionState};
use apn_ami_core::correlation::{AmiError, Response};
use apn_ami_core::health::HealthState;
use apn_ami_core::observe::{Level, LogRecord};
use futures_channel::oneshot;
use futures_core::Stream;

use crate::client::{
    Afterword, Client, Command, Failure, NotReady, ServerStatus, Target, TlsFailure,
};
use crate::config::Resolved;
use crate::handoff::{Handoff, InlineKey, ServerEvent};
use crate::io::{ConnectFuture, ConnectTarget, Connection, SharedConnector, Timer};
use crate::logging;
use crate::read_pause::ReadPause;

/// Bytes read from a socket at once.
const READ_CHUNK: usize = 64 * 1024;
/// Reads from one connection before the others get a turn.
const READS_PER_TURN: usize = 16;
/// Commands taken before the sockets get a turn.
const COMMANDS_PER_TURN: usize = 256;
/// Rounds of work in one poll before the driver yields to the runtime.
const ROUNDS_PER_POLL: usize = 32;

type Reply = oneshot::Sender<Result<Response, AmiError>>;

/// One server's socket, as the driver holds it.
enum Link {
    Idle,
    Connecting(ConnectFuture),
    Open {
        connection: Box<dyn Connection>,
        unflushed: bool,
    },
}

/// Where the client stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Asked to stop (or the memory budget's emergency stop): no actions
    /// are taken; the driver ends once every connection is closed.
    ShuttingDown,
    Finished,
}

/// Per-server facts the driver keeps beside the core.
#[derive(Debug, Clone)]
struct Facts {
    key: Arc<str>,
    /// The key as events carry it.
    inline: InlineKey,
    address: String,
    /// Why the latest attempt failed, until the server is healthy again.
    last_error: Option<Failure>,
}

/// The driver of one client: a future the runtime spawns once. It ends
/// after the shutdown is complete (asked for, every handle dropped, or the
/// memory budget's emergency stop).
pub struct Driver<T: Timer> {
    cluster: Cluster,
    timer: T,
    armed: Option<Instant>,
    connectors: Vec<SharedConnector>,
    links: Vec<Link>,
    facts: Vec<Facts>,
    by_key: HashMap<Arc<str>, ServerId>,
    commands: Pin<Box<async_channel::Receiver<Command>>>,
    commands_closed: bool,
    waiters: HashMap<ClusterHandle, Reply>,
    handoff: Arc<Handoff>,
    event_batch: usize,
    ready_waiters: Vec<oneshot::Sender<Result<(), NotReady>>>,
    shutdown_waiters: Vec<oneshot::Sender<()>>,
    phase: Phase,
    /// Reading waits a moment for the event consumer.
    read_pause: ReadPause,
    read_buffer: Box<[u8]>,
    afterword: Arc<Afterword>,
}

impl<T: Timer> std::fmt::Debug for Driver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("servers", &self.facts)
            .field("waiters", &self.waiters.len())
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl<T: Timer> Driver<T> {
    /// A client handle and its driver, for a runtime to spawn. One
    /// connector per server, in configuration order.
    ///
    /// # Errors
    /// [`ConfigError`](crate::ConfigError) when the core refuses the
    /// configuration, or the connectors do not match the servers.
    pub fn new(
        resolved: Resolved,
        connectors: Vec<SharedConnector>,
        timer: T,
    ) -> Result<(Client, Self), crate::ConfigError> {
        let now = timer.now();
        let facts: Vec<Facts> = resolved
            .cluster
            .servers
            .iter()
            .map(|server| Facts {
                key: Arc::from(server.session.server_key.as_str()),
                inline: InlineKey::new(server.session.server_key.as_str()),
                address: server.address.clone(),
                last_error: None,
            })
            .collect();
        if connectors.len() != facts.len() {
            return Err(crate::ConfigError::Invalid {
                server: None,
                field: "servers".to_owned(),
                reason: format!(
                    "{} connectors for {} servers",
                    connectors.len(),
                    facts.len()
                ),
            });
        }
        let cluster = Cluster::new(resolved.cluster, resolved.seed, now).map_err(|error| {
            crate::ConfigError::Invalid {
                server: None,
                field: "servers".to_owned(),
                reason: error.to_string(),
            }
        })?;
        logging::emit(
            &LogRecord::new(Level::Info, "client starting")
                .count("seed", resolved.seed)
                .count("servers", facts.len() as u64),
        );
        let (sender, commands) = async_channel::bounded(resolved.command_queue);
        let handoff = Handoff::new(resolved.event_batch);
        let afterword = Arc::new(Afterword::default());
        let by_key = facts
            .iter()
            .enumerate()
            .map(|(index, fact)| (Arc::clone(&fact.key), ServerId(index)))
            .collect();
        let driver = Self {
            cluster,
            timer,
            armed: None,
            links: facts.iter().map(|_| Link::Idle).collect(),
            connectors,
            facts,
            by_key,
            commands: Box::pin(commands),
            commands_closed: false,
            waiters: HashMap::new(),
            handoff: Arc::clone(&handoff),
            event_batch: resolved.event_batch,
            ready_waiters: Vec::new(),
            shutdown_waiters: Vec::new(),
            phase: Phase::Running,
            read_pause: ReadPause::new(),
            read_buffer: vec![0; READ_CHUNK].into_boxed_slice(),
            afterword: Arc::clone(&afterword),
        };
        Ok((Client::new(sender, handoff, afterword), driver))
    }

    /// Runs the driver to the end of the shutdown.
    pub async fn run(mut self) {
        std::future::poll_fn(|cx| self.poll_drive(cx)).await;
    }

    /// One turn of the reactor: `Ready` once the client has shut down.
    pub fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.phase == Phase::Finished {
            return Poll::Ready(());
        }
        for _ in 0..ROUNDS_PER_POLL {
            let now = self.timer.now();
            let mut busy = self.take_commands(cx, now);
            busy |= self.poll_links(cx, now);
            if self.cluster.poll_timeout().is_some_and(|at| at <= now) {
                self.cluster.handle_timeout(now);
                busy = true;
            }
            busy |= self.drain_control(now);
            busy |= self.flush(cx, now);
            busy |= self.hand_off_events(cx);
            self.drain_logs();
            self.answer_ready_waiters();
            if self.phase == Phase::ShuttingDown && self.all_closed() {
                self.finish();
                return Poll::Ready(());
            }
            if busy {
                continue;
            }
            self.handoff.wake_consumer(1);
            let deadline = [self.cluster.poll_timeout(), self.read_pause.deadline()]
                .into_iter()
                .flatten()
                .min();
            if let Some(deadline) = deadline {
                if self.armed != Some(deadline) {
                    self.timer.reset(deadline);
                    self.armed = Some(deadline);
                }
                if self.timer.poll_elapsed(cx).is_ready() {
                    self.armed = None;
                    continue;
                }
            }
            return Poll::Pending;
        }
        // Still busy: let the runtime run others, then come back.
        self.handoff.wake_consumer(1);
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn take_commands(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut taken = 0;
        while !self.commands_closed && taken < COMMANDS_PER_TURN {
            match self.commands.as_mut().poll_next(cx) {
                Poll::Ready(Some(command)) => {
                    taken += 1;
                    self.on_command(command, now);
                }
                Poll::Ready(None) => {
                    // Every handle is gone: nobody can ask for anything more.
                    self.commands_closed = true;
                    self.begin_shutdown(now);
                    return true;
                }
                Poll::Pending => break,
            }
        }
        taken > 0
    }

    fn on_command(&mut self, command: Command, now: Instant) {
        match command {
            Command::Submit {
                action,
                target,
                mut options,
                reply,
            } => {
                // Until a first server has logged in, an action waits for
                // one (up to its own timeout) instead of failing at once:
                // an application may start the client and send straight
                // away. After that, an unavailable server is an error.
                let waits = !self.cluster.ever_logged_in();
                options.wait_for_server = options.wait_for_server.or(Some(waits));
                let route = match &target {
                    Target::Any => Route::Any,
                    Target::Key(key) => Route::Key(key),
                    Target::Server(key) => {
                        let Some(&server) = self.by_key.get(key.as_str()) else {
                            answer(reply, Err(AmiError::UnknownServerKey { key: key.clone() }));
                            return;
                        };
                        Route::Server(server)
                    }
                };
                match self.cluster.submit(action, route, options, now) {
                    Ok(handle) => {
                        self.waiters.insert(handle, reply);
                    }
                    Err(error) => answer(reply, Err(error)),
                }
            }
            Command::Health(reply) => {
                // The caller may have stopped waiting; nothing to undo.
                if reply.send(self.statuses()).is_err() {}
            }
            Command::Metrics(reply) => if reply.send(self.cluster.metrics_text()).is_err() {},
            Command::Ready(reply) => self.ready_waiters.push(reply),
            Command::Shutdown(reply) => {
                self.shutdown_waiters.push(reply);
                self.begin_shutdown(now);
            }
        }
    }

    fn begin_shutdown(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        self.phase = Phase::ShuttingDown;
        self.cluster.shutdown(now);
        for index in 0..self.links.len() {
            if matches!(self.links[index], Link::Connecting(_)) {
                self.links[index] = Link::Idle;
                self.cluster.handle_disconnected(ServerId(index), now);
            }
        }
    }

    fn poll_links(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut busy = false;
        for index in 0..self.links.len() {
            if let Link::Connecting(connect) = &mut self.links[index] {
                match connect.as_mut().poll(cx) {
                    Poll::Ready(Ok(connection)) => {
                        self.links[index] = Link::Open {
                            connection,
                            unflushed: false,
                        };
                        self.cluster.handle_connected(ServerId(index), now);
                        busy = true;
                    }
                    Poll::Ready(Err(error)) => {
                        let why = connect_failure(&error, &self.facts[index].address);
                        self.lose_link(index, why, now);
                        busy = true;
                    }
                    Poll::Pending => {}
                }
            }
            busy |= self.read(index, cx, now);
        }
        self.read_pause.end_turn();
        busy
    }

    /// Reads what one connection has, a few chunks at most.
    fn read(&mut self, index: usize, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut busy = false;
        for _ in 0..READS_PER_TURN {
            if self.reading_waits(cx, now) {
                return busy;
            }
            let Link::Open { connection, .. } = &mut self.links[index] else {
                return busy;
            };
            match connection.poll_read(cx, &mut self.read_buffer) {
                Poll::Ready(Ok(0)) => {
                    let why = self.lost(index, "the server closed the connection".to_owned());
                    self.lose_link(index, why, now);
                    return true;
                }
                Poll::Ready(Ok(count)) => {
                    self.cluster
                        .handle_input(ServerId(index), &self.read_buffer[..count], now);
                    self.drain_control(now);
                    busy = true;
                }
                Poll::Ready(Err(error)) => {
                    let why = self.lost(index, format!("read failed: {error}"));
                    self.lose_link(index, why, now);
                    return true;
                }
                Poll::Pending => return busy,
            }
        }
        // More may be waiting: another round will look.
        true
    }

    /// Hands over the events the core holds, then says whether reading
    /// waits for the consumer to take them: events are handed over after
    /// every read, so the core's queue only fills while the application
    /// lags, and reading on while the consumer has not taken the last ones
    /// (it may not have run yet) would only queue and drop them.
    fn reading_waits(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        self.hand_off_events(cx);
        self.handoff.wake_consumer(self.handoff.wake_at());
        if self.handoff.is_full() {
            self.read_pause.begin(now);
        }
        let handoff = &self.handoff;
        self.read_pause
            .holds(now, || handoff.poll_room(cx).is_ready())
    }

    fn flush(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut busy = false;
        for index in 0..self.links.len() {
            let server = ServerId(index);
            while let Link::Open {
                connection,
                unflushed,
            } = &mut self.links[index]
            {
                let Some(bytes) = self
                    .cluster
                    .session(server)
                    .and_then(Session::poll_transmit)
                else {
                    if *unflushed {
                        match connection.poll_flush(cx) {
                            Poll::Ready(Ok(())) => *unflushed = false,
                            Poll::Ready(Err(error)) => {
                                let why = self.lost(index, format!("write failed: {error}"));
                                self.lose_link(index, why, now);
                                busy = true;
                            }
                            Poll::Pending => {}
                        }
                    }
                    break;
                };
                match connection.poll_write(cx, bytes) {
                    Poll::Ready(Ok(0)) => {
                        let why = self.lost(index, "the socket takes no more bytes".to_owned());
                        self.lose_link(index, why, now);
                        busy = true;
                        break;
                    }
                    Poll::Ready(Ok(count)) => {
                        *unflushed = true;
                        self.cluster.consume(server, count);
                        busy = true;
                    }
                    Poll::Ready(Err(error)) => {
                        let why = self.lost(index, format!("write failed: {error}"));
                        self.lose_link(index, why, now);
                        busy = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
        }
        busy
    }

    /// The socket is gone (closed, failed, or never opened): the core ends
    /// the server's pending actions and schedules the next attempt.
    fn lose_link(&mut self, index: usize, why: Failure, now: Instant) {
        self.links[index] = Link::Idle;
        let fact = &mut self.facts[index];
        logging::emit(
            &LogRecord::new(Level::Warn, "connection lost")
                .server(&fact.key, &fact.address)
                .text("reason", why.to_string()),
        );
        fact.last_error = Some(why);
        self.cluster.handle_disconnected(ServerId(index), now);
        self.drain_control(now);
    }

    fn lost(&self, index: usize, reason: String) -> Failure {
        Failure::Lost {
            address: self.facts[index].address.clone(),
            reason,
        }
    }

    /// Takes every output that is not an event: connects, closes,
    /// completions, login failures.
    fn drain_control(&mut self, now: Instant) -> bool {
        let mut busy = false;
        while let Some(output) = self.cluster.poll_control() {
            busy = true;
            match output {
                ClusterOutput::Connect { server, address } => {
                    let target = ConnectTarget {
                        server_key: self.facts[server.0].key.to_string(),
                        address,
                    };
                    self.links[server.0] =
                        Link::Connecting(self.connectors[server.0].connect(&target));
                }
                ClusterOutput::Close { server, reason } => {
                    self.links[server.0] = Link::Idle;
                    let fact = &mut self.facts[server.0];
                    logging::emit(
                        &LogRecord::new(Level::Info, "connection closed")
                            .server(&fact.key, &fact.address)
                            .text("reason", format!("{reason:?}")),
                    );
                    if let Some(why) = close_failure(&reason) {
                        fact.last_error = Some(Failure::Lost {
                            address: fact.address.clone(),
                            reason: why,
                        });
                    }
                    self.cluster.handle_disconnected(server, now);
                }
                ClusterOutput::Completed { handle, result, .. } => {
                    match self.waiters.remove(&handle) {
                        Some(reply) => answer(reply, result),
                        None => logging::emit(&LogRecord::new(
                            Level::Error,
                            "an action ended that no caller waits for (a defect)",
                        )),
                    }
                }
                ClusterOutput::LoginFailed { server, message } => {
                    // The session has logged the refusal with its message.
                    self.facts[server.0].last_error = Some(Failure::Authentication { message });
                }
                ClusterOutput::EmergencyShutdown { .. } => self.phase = Phase::ShuttingDown,
                ClusterOutput::Event { server, event } => {
                    // Not produced by `poll_control`; kept, never lost.
                    let key = self.facts[server.0].inline;
                    self.handoff.push([ServerEvent::new(key, event)]);
                }
            }
        }
        busy
    }

    /// Moves events from the core's queues to the application, only as many
    /// as the hand-off has room for.
    fn hand_off_events(&mut self, cx: &mut Context<'_>) -> bool {
        for key in self.handoff.take_abandoned() {
            if let Some(index) = self.facts.iter().position(|fact| fact.inline == key) {
                self.cluster.count_dropped_events(ServerId(index), 1);
            }
        }
        let Poll::Ready(room) = self.handoff.poll_room(cx) else {
            return false;
        };
        let mut batch = Vec::new();
        while batch.len() < room.min(self.event_batch) {
            let Some((server, event)) = self.cluster.poll_event() else {
                break;
            };
            batch.push(ServerEvent::new(self.facts[server.0].inline, event));
        }
        let moved = !batch.is_empty();
        if moved {
            self.handoff.push(batch);
        }
        moved
    }

    fn drain_logs(&mut self) {
        while let Some(record) = self.cluster.poll_log() {
            logging::emit(&record);
        }
    }

    fn answer_ready_waiters(&mut self) {
        if self.ready_waiters.is_empty() {
            return;
        }
        let result = if self.phase != Phase::Running {
            Err(NotReady::ShuttingDown)
        } else if (0..self.facts.len())
            .any(|index| self.cluster.health(ServerId(index)) == Some(HealthState::Healthy))
        {
            Ok(())
        } else if self.facts.iter().all(|fact| fact.last_error.is_some()) {
            Err(NotReady::AllFailed(
                self.facts
                    .iter()
                    .map(|fact| {
                        (
                            fact.key.to_string(),
                            fact.last_error.clone().unwrap_or(Failure::Connect {
                                address: fact.address.clone(),
                                reason: "no attempt yet".to_owned(),
                            }),
                        )
                    })
                    .collect(),
            ))
        } else {
            return;
        };
        for reply in self.ready_waiters.drain(..) {
            if reply.send(result.clone()).is_err() {
                // The caller stopped waiting.
            }
        }
    }

    fn statuses(&mut self) -> Vec<ServerStatus> {
        (0..self.facts.len())
            .map(|index| {
                let server = ServerId(index);
                let health = self
                    .cluster
                    .health(server)
                    .unwrap_or(HealthState::Disconnected);
                let fact = &mut self.facts[index];
                if health == HealthState::Healthy {
                    fact.last_error = None;
                }
                let session = self.cluster.session(server);
                ServerStatus {
                    key: fact.key.to_string(),
                    address: fact.address.clone(),
                    health,
                    state: session.map_or(SessionState::Disconnected, Session::state),
                    pending: session.map_or(0, Session::pending),
                    reconnects: session.map_or(0, |s| s.metrics().counters.reconnects),
                    dropped_events: session.map_or(0, |s| s.metrics().counters.dropped_events),
                    last_error: fact.last_error.clone(),
                }
            })
            .collect()
    }

    fn all_closed(&self) -> bool {
        self.links.iter().all(|link| matches!(link, Link::Idle))
            && (0..self.facts.len()).all(|index| {
                self.cluster
                    .session(ServerId(index))
                    .is_none_or(|session| session.state() == SessionState::Disconnected)
            })
    }

    /// The shutdown is complete: answer whoever still waits and close the
    /// event stream.
    fn finish(&mut self) {
        self.phase = Phase::Finished;
        self.drain_logs();
        if !self.waiters.is_empty() {
            logging::emit(
                &LogRecord::new(
                    Level::Error,
                    "actions still pending after the shutdown (a defect); ending them",
                )
                .count("actions", self.waiters.len() as u64),
            );
        }
        for (_, reply) in self.waiters.drain() {
            answer(reply, Err(AmiError::ShuttingDown));
        }
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Submit { reply, .. } => answer(reply, Err(AmiError::ShuttingDown)),
                Command::Ready(reply) => if reply.send(Err(NotReady::ShuttingDown)).is_err() {},
                Command::Shutdown(reply) => self.shutdown_waiters.push(reply),
                Command::Health(_) | Command::Metrics(_) => {}
            }
        }
        *self
            .afterword
            .metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = self.cluster.metrics_text();
        self.handoff.close();
        for reply in self.shutdown_waiters.drain(..) {
            if reply.send(()).is_err() {}
        }
        for reply in self.ready_waiters.drain(..) {
            if reply.send(Err(NotReady::ShuttingDown)).is_err() {}
        }
        logging::emit(&LogRecord::new(Level::Info, "client stopped"));
    }
}

/// Hands an action's ending to its caller. A caller that stopped waiting
/// (its future dropped) loses nothing: the action ended in the core and is
/// counted in the metrics either way.
fn answer(reply: Reply, result: Result<Response, AmiError>) {
    if reply.send(result).is_err() {
        log::debug!(target: logging::TARGET, "an action ended after its caller stopped waiting");
    }
}

/// Why the client itself reset a connection, in words; `None` for the
/// closes that are not failures (a shutdown) or are reported otherwise (a
/// refused login).
fn close_failure(reason: &CloseReason) -> Option<String> {
    Some(match reason {
        CloseReason::BannerTimeout => "no banner in time; the connection was reset".to_owned(),
        CloseReason::LoginTimeout => {
            "no answer to the login in time; the connection was reset".to_owned()
        }
        CloseReason::HeartbeatDead => {
            "heartbeat Pings went unanswered; the connection was reset".to_owned()
        }
        CloseReason::OutboundFull => {
            "too many bytes waited for the socket; the connection was reset".to_owned()
        }
        CloseReason::MemoryBudget => "the connection's memory budget was exceeded".to_owned(),
        CloseReason::Protocol(error) => format!("the byte stream cannot be parsed: {error}"),
        CloseReason::LoginFailed | CloseReason::Shutdown => return None,
    })
}

/// A connect failure, typed.
fn connect_failure(error: &io::Error, address: &str) -> Failure {
    let address = address.to_owned();
    if let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsFailure>())
    {
        return Failure::Tls {
            address,
            reason: tls.0.clone(),
        };
    }
    match error.kind() {
        io::ErrorKind::ConnectionRefused => Failure::Refused { address },
        io::ErrorKind::TimedOut => Failure::TimedOut { address },
        _ => Failure::Connect {
            address,
            reason: error.to_string(),
        },
    }
}
