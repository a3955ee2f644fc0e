//! [`Session`]: one Asterisk server's connection as a pure state machine.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::config::{AuthMethod, SessionConfig, SessionConfigError};
use super::event_queue::EventQueue;
use super::handshake;
use super::outbound::Outbound;
use super::state::{CloseReason, SessionOutput, SessionState, SubmitOptions};
use crate::correlation::{
    ActionHandle, ActionIds, AmiError, Bound, Completion, CompletionStrategy, Dispatch, InstanceId,
    PendingRegistry,
};
use crate::observe::{Level, LogQueue, LogRecord, Outcome, ServerMetrics};
use crate::protocol::{Action, Frame, FrameKind, Item, Parser, ProtocolError};

/// How often, at most, a full event queue is reported after the first drop.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// Where the login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handshake {
    Idle,
    AwaitBanner { deadline: Instant },
    Challenge { sequence: u64, deadline: Instant },
    Login { sequence: u64, deadline: Instant },
}

/// The heartbeat's timers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Heartbeat {
    next_ping: Option<Instant>,
    /// The ping awaiting its pong: its sequence and answer deadline.
    outstanding: Option<(u64, Instant)>,
    misses: u32,
}

/// A shutdown in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shutdown {
    /// Pending actions may end until then; the rest end `ShuttingDown`.
    grace_deadline: Instant,
    /// The `Logoff` sent, once the registry is empty or the grace is over.
    logoff: Option<u64>,
    /// After `Logoff`: close at the `Goodbye` or, at the latest, then.
    close_deadline: Option<Instant>,
}

/// One server's connection: login, correlation, heartbeat, bounded buffers,
/// logs and metrics. It consumes bytes and instants and emits bytes to write,
/// outputs, log records and its next deadline; it reads no clock and touches
/// no socket.
///
/// The run loop, as for every poller of this crate: call one `handle_*`,
/// [`Session::submit`] or [`Session::shutdown`], then drain
/// [`Session::poll_transmit`] (with [`Session::consume`]),
/// [`Session::poll_output`] and [`Session::poll_log`], then arm a timer for
/// [`Session::poll_timeout`]. A spurious [`Session::handle_timeout`] is
/// harmless.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: SessionState,
    ids: ActionIds,
    parser: Parser,
    registry: PendingRegistry,
    outbound: Outbound,
    events: EventQueue,
    outputs: VecDeque<SessionOutput>,
    logs: LogQueue,
    metrics: ServerMetrics,
    /// Actions submitted before login, with their sequence, in order.
    queued: VecDeque<(u64, Action)>,
    handshake: Handshake,
    heartbeat: Heartbeat,
    shutdown: Option<Shutdown>,
    /// Events dropped since the last report, and when the next may be made.
    unreported_drops: u64,
    next_drop_report: Option<Instant>,
    /// Parser items of one input, reused.
    scratch: Vec<Item>,
}

impl Session {
    /// A disconnected session. Allocates no buffer until it is used.
    ///
    /// # Errors
    /// [`SessionConfigError`] when a setting is out of range.
    pub fn new(config: SessionConfig, instance: InstanceId) -> Result<Self, SessionConfigError> {
        config.validate()?;
        let parser = Parser::new(config.parser)?;
        Ok(Self {
            ids: ActionIds::new(&config.server_key, instance),
            registry: PendingRegistry::new(config.registry),
            logs: LogQueue::new(config.log_capacity),
            metrics: ServerMetrics::new(config.server_key.as_str(), &config.server_host),
            parser,
            config,
            state: SessionState::Disconnected,
            outbound: Outbound::default(),
            events: EventQueue::default(),
            outputs: VecDeque::new(),
            queued: VecDeque::new(),
            handshake: Handshake::Idle,
            heartbeat: Heartbeat::default(),
            shutdown: None,
            unreported_drops: 0,
            next_drop_report: None,
            scratch: Vec::new(),
        })
    }

    /// Where the connection stands.
    #[must_use]
    pub const fn state(&self) -> SessionState {
        self.state
    }

    /// This server's metrics.
    #[must_use]
    pub const fn metrics(&self) -> &ServerMetrics {
        &self.metrics
    }

    /// Actions pending (sent or queued, not yet ended).
    #[must_use]
    pub fn pending(&self) -> usize {
        self.registry.len()
    }

    /// Heap bytes held by this connection's buffers and queues.
    #[must_use]
    pub fn heap_size(&self) -> usize {
        let outputs: usize = self.outputs.iter().map(SessionOutput::heap_size).sum();
        self.parser.heap_size()
            + self.outbound.heap_size()
            + self.events.heap_size()
            + self.registry.list_bytes()
            + outputs
    }

    /// The runtime is opening the socket.
    pub fn handle_connecting(&mut self) {
        if self.state == SessionState::Disconnected {
            self.state = SessionState::Connecting;
        }
    }

    /// The socket is open: the banner is due within the banner timeout.
    /// After a shutdown, the socket is closed again at once.
    pub fn handle_connected(&mut self, now: Instant) {
        if self.shutdown.is_some() {
            self.request_close(CloseReason::Shutdown);
            return;
        }
        self.parser.reset();
        self.state = SessionState::AwaitingBanner;
        self.handshake = Handshake::AwaitBanner {
            deadline: now + self.config.banner_timeout,
        };
        self.log(LogRecord::new(
            Level::Info,
            "connected; awaiting the banner",
        ));
    }

    /// Bytes read from the socket.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if !self.is_connected() {
            return;
        }
        self.metrics.counters.bytes_received += bytes.len() as u64;
        let mut items = std::mem::take(&mut self.scratch);
        let parsed = self.parser.feed(bytes, |item| items.push(item));
        for item in items.drain(..) {
            self.on_item(item, now);
        }
        self.scratch = items;
        let stats = self.parser.stats();
        self.metrics.counters.protocol_errors = stats.protocol_errors;
        self.metrics.counters.frames_discarded = stats.frames_discarded;
        if let Err(error) = parsed {
            self.on_protocol_error(&error, now);
        }
        self.check_memory(now);
        self.refresh_gauges();
    }

    /// The socket closed (by the peer, an error, or after a `Close` output).
    /// Every pending action ends with [`AmiError::ConnectionLost`].
    pub fn handle_disconnected(&mut self, now: Instant) {
        if self.state != SessionState::Disconnected {
            self.log(
                LogRecord::new(Level::Info, "disconnected")
                    .count("pending", self.registry.len() as u64),
            );
        }
        self.lose_connection(&AmiError::ConnectionLost, now);
        if self.shutdown.is_some() {
            self.terminate();
        }
        self.refresh_gauges();
    }

    /// Submits an action; it ends exactly once, later through
    /// [`SessionOutput::Completed`], unless refused here.
    ///
    /// # Errors
    /// [`AmiError::ShuttingDown`] after [`Session::shutdown`];
    /// [`AmiError::Rejected`] when the pending limit or the pre-login queue
    /// is full.
    pub fn submit(
        &mut self,
        action: Action,
        options: SubmitOptions,
        now: Instant,
    ) -> Result<ActionHandle, AmiError> {
        if self.shutdown.is_some() {
            self.metrics
                .record_action(Outcome::ShuttingDown, Duration::ZERO);
            return Err(AmiError::ShuttingDown);
        }
        let logged_in = self.is_logged_in();
        if !logged_in && self.queued.len() >= self.config.max_queued_before_login {
            return Err(self.reject(
                &action,
                Bound::QueuedBeforeLogin,
                self.queued.len(),
                self.config.max_queued_before_login,
            ));
        }
        let strategy = options
            .strategy
            .unwrap_or_else(|| CompletionStrategy::for_action(action.name()));
        let timeout = options.timeout.unwrap_or(self.config.action_timeout);
        let (sequence, _) = self.ids.next_id();
        let handle = match self.registry.insert(sequence, strategy, timeout, now) {
            Ok(handle) => handle,
            Err(AmiError::Rejected {
                bound,
                depth,
                limit,
            }) => {
                return Err(self.reject(&action, bound, depth, limit));
            }
            Err(other) => return Err(other),
        };
        if logged_in {
            self.send(&action, sequence, now);
        } else {
            self.queued.push_back((sequence, action));
        }
        self.refresh_gauges();
        Ok(handle)
    }

    /// Stops taking actions; lets pending ones end until the grace deadline,
    /// then sends `Logoff`, and asks the runtime to close once it is written
    /// (or answered).
    pub fn shutdown(&mut self, now: Instant) {
        if self.shutdown.is_some() {
            return;
        }
        self.shutdown = Some(Shutdown {
            grace_deadline: now + self.config.shutdown_grace,
            logoff: None,
            close_deadline: None,
        });
        self.log(
            LogRecord::new(Level::Info, "shutting down")
                .count("pending", self.registry.len() as u64),
        );
        if self.is_logged_in() {
            self.state = SessionState::Closing;
            self.heartbeat = Heartbeat::default();
            self.advance_shutdown(now);
        } else {
            self.fail_pending(&AmiError::ShuttingDown, now);
            if self.is_connected() {
                self.request_close(CloseReason::Shutdown);
            }
            self.lose_connection(&AmiError::ShuttingDown, now);
        }
        self.refresh_gauges();
    }

    /// The tick: action timeouts, the handshake deadlines, the heartbeat, the
    /// shutdown grace, and the drop report. A spurious call does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut expired = Vec::new();
        self.registry
            .expire(now, |completion| expired.push(completion));
        for completion in expired {
            let id = self.ids.id_of(completion.handle.0).to_owned();
            self.log(LogRecord::new(Level::Warn, "action timed out").action_id(&id));
            self.complete(completion, now);
        }
        if !self.queued.is_empty() {
            let registry = &self.registry;
            self.queued
                .retain(|(sequence, _)| registry.contains(*sequence));
        }
        self.check_handshake_deadline(now);
        self.tick_heartbeat(now);
        if let Some(shutdown) = self.shutdown
            && self.state == SessionState::Closing
        {
            if shutdown.logoff.is_none() && now >= shutdown.grace_deadline {
                self.fail_pending(&AmiError::ShuttingDown, now);
                self.advance_shutdown(now);
            } else if shutdown
                .close_deadline
                .is_some_and(|deadline| now >= deadline)
            {
                self.log(LogRecord::new(
                    Level::Warn,
                    "no goodbye in time; closing anyway",
                ));
                self.finish_shutdown(now);
            }
        }
        self.report_drops(now);
        self.refresh_gauges();
    }

    /// The earliest instant at which [`Session::handle_timeout`] has work.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let handshake = match self.handshake {
            Handshake::Idle => None,
            Handshake::AwaitBanner { deadline }
            | Handshake::Challenge { deadline, .. }
            | Handshake::Login { deadline, .. } => Some(deadline),
        };
        let heartbeat = self
            .heartbeat
            .outstanding
            .map(|(_, deadline)| deadline)
            .or(self.heartbeat.next_ping);
        let shutdown = self
            .shutdown
            .filter(|_| self.state == SessionState::Closing)
            .and_then(|shutdown| match shutdown.logoff {
                None => Some(shutdown.grace_deadline),
                Some(_) => shutdown.close_deadline,
            });
        [
            self.registry.next_deadline(),
            handshake,
            heartbeat,
            shutdown,
            self.next_drop_report.filter(|_| self.unreported_drops > 0),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Bytes waiting to be written, if any. Write what the socket takes and
    /// report it with [`Session::consume`].
    #[must_use]
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        self.outbound.pending()
    }

    /// The socket took `count` bytes of [`Session::poll_transmit`].
    pub fn consume(&mut self, count: usize) {
        let taken = self.outbound.consume(count);
        self.metrics.counters.bytes_sent += taken as u64;
    }

    /// The next output: control outputs and completions first, then events
    /// from the bounded event queue.
    pub fn poll_output(&mut self) -> Option<SessionOutput> {
        if let Some(output) = self.outputs.pop_front() {
            return Some(output);
        }
        let event = self.events.pop()?;
        self.metrics.counters.event_queue_depth = self.events.len() as u64;
        Some(SessionOutput::Event(event))
    }

    /// The next log record, already redacted.
    pub fn poll_log(&mut self) -> Option<LogRecord> {
        self.logs.pop()
    }

    /// Frees every buffer and queue; pending actions were ended before
    /// (by a disconnect or a shutdown). Counters are kept.
    pub fn terminate(&mut self) {
        self.parser.terminate();
        self.outbound.terminate();
        self.events.terminate();
        self.queued = VecDeque::new();
        self.scratch = Vec::new();
    }

    const fn is_connected(&self) -> bool {
        !matches!(
            self.state,
            SessionState::Disconnected | SessionState::Connecting
        )
    }

    const fn is_logged_in(&self) -> bool {
        matches!(self.state, SessionState::Ready | SessionState::Degraded)
    }

    fn log(&mut self, record: LogRecord) {
        let record = record.server(self.config.server_key.as_str(), &self.config.server_host);
        self.logs.push(record);
    }

    /// Counts and reports a refused action; its headers appear redacted.
    fn reject(&mut self, action: &Action, bound: Bound, depth: usize, limit: usize) -> AmiError {
        self.metrics.counters.rejected_actions += 1;
        self.metrics
            .record_action(Outcome::Rejected, Duration::ZERO);
        let headers: Vec<String> = action
            .headers()
            .map(|(key, value)| {
                format!(
                    "{key}: {}",
                    self.config.redactor.header(key, value.as_bytes())
                )
            })
            .collect();
        self.log(
            LogRecord::new(Level::Warn, "action rejected: a bound is full")
                .text("bound", format!("{bound:?}"))
                .count("depth", depth as u64)
                .count("limit", limit as u64)
                .text("action", action.name())
                .text("headers", headers.join("; ")),
        );
        AmiError::Rejected {
            bound,
            depth,
            limit,
        }
    }

    /// Writes an action with ActionID `sequence`; drops the connection when
    /// the outbound bound would be passed.
    fn send(&mut self, action: &Action, sequence: u64, now: Instant) -> bool {
        let limit = self.config.max_outbound_bytes;
        let id = self.ids.id_of(sequence);
        let appended = self
            .outbound
            .append(limit, |out| action.write_to(Some(id), out));
        if !appended {
            self.log(
                LogRecord::new(
                    Level::Error,
                    "outbound buffer full; dropping the connection",
                )
                .count("outbound_bytes", self.outbound.len() as u64)
                .count("limit", limit as u64),
            );
            self.request_close(CloseReason::OutboundFull);
            self.lose_connection(&AmiError::ConnectionLost, now);
        }
        appended
    }

    fn on_item(&mut self, item: Item, now: Instant) {
        match item {
            Item::Banner(banner) => {
                if matches!(self.handshake, Handshake::AwaitBanner { .. }) {
                    self.log(
                        LogRecord::new(Level::Info, "banner received")
                            .text("banner", banner.line()),
                    );
                    self.start_login(now);
                }
            }
            Item::Frame(frame) if frame.kind() == FrameKind::Response => {
                self.on_response(frame, now);
            }
            Item::Frame(frame) => self.on_event(frame, now),
        }
    }

    fn sequence_of(&self, frame: &Frame) -> Option<u64> {
        frame
            .action_id()
            .and_then(|id| self.ids.sequence_of(id.as_bytes()))
    }

    fn on_response(&mut self, frame: Frame, now: Instant) {
        let Some(sequence) = self.sequence_of(&frame) else {
            self.log(LogRecord::new(
                Level::Debug,
                "response without one of our ActionIDs dropped",
            ));
            return;
        };
        match self.handshake {
            Handshake::Challenge {
                sequence: expected,
                deadline,
            } if expected == sequence => {
                return self.on_challenge(&frame, deadline, now);
            }
            Handshake::Login {
                sequence: expected, ..
            } if expected == sequence => {
                return self.on_login(&frame, now);
            }
            _ => {}
        }
        if self
            .heartbeat
            .outstanding
            .is_some_and(|(ping, _)| ping == sequence)
        {
            return self.on_pong();
        }
        if self
            .shutdown
            .is_some_and(|shutdown| shutdown.logoff == Some(sequence))
        {
            self.request_close(CloseReason::Shutdown);
            return;
        }
        match self.registry.on_response(sequence, frame, now) {
            Dispatch::Completed(completion) => self.complete(completion, now),
            Dispatch::Consumed => {}
            Dispatch::Unmatched(_) => {
                self.log(LogRecord::new(
                    Level::Debug,
                    "late or unknown response dropped",
                ));
            }
        }
    }

    fn on_event(&mut self, frame: Frame, now: Instant) {
        let event = match self.sequence_of(&frame) {
            Some(sequence) => match self.registry.on_event(sequence, frame, now) {
                Dispatch::Completed(completion) => return self.complete(completion, now),
                Dispatch::Consumed => return,
                Dispatch::Unmatched(frame) => frame,
            },
            None => frame,
        };
        if self.events.push(event, self.config.event_queue_capacity) {
            self.metrics.counters.dropped_events += 1;
            self.unreported_drops += 1;
            if self.next_drop_report.is_none() {
                self.report_drops_now(now);
            }
        }
    }

    fn start_login(&mut self, now: Instant) {
        self.state = SessionState::Authenticating;
        let deadline = now + self.config.login_timeout;
        match handshake::first_action(&self.config) {
            Ok(action) => {
                let (sequence, _) = self.ids.next_id();
                self.handshake = match self.config.auth {
                    AuthMethod::Md5 => Handshake::Challenge { sequence, deadline },
                    AuthMethod::Plain => Handshake::Login { sequence, deadline },
                };
                self.send(&action, sequence, now);
            }
            Err(error) => self.login_failed(&error.to_string(), now),
        }
    }

    fn on_challenge(&mut self, frame: &Frame, deadline: Instant, now: Instant) {
        let challenge = frame
            .get("challenge")
            .filter(|_| handshake::succeeded(frame));
        let Some(challenge) = challenge else {
            return self.login_failed(&handshake::message(frame), now);
        };
        match handshake::md5_login(&self.config, challenge.as_bytes()) {
            Ok(login) => {
                let (sequence, _) = self.ids.next_id();
                self.handshake = Handshake::Login { sequence, deadline };
                self.send(&login, sequence, now);
            }
            Err(error) => self.login_failed(&error.to_string(), now),
        }
    }

    fn on_login(&mut self, frame: &Frame, now: Instant) {
        if !handshake::succeeded(frame) {
            return self.login_failed(&handshake::message(frame), now);
        }
        self.handshake = Handshake::Idle;
        self.state = SessionState::Ready;
        self.heartbeat = Heartbeat {
            next_ping: Some(now + self.config.heartbeat_interval),
            ..Heartbeat::default()
        };
        self.log(
            LogRecord::new(Level::Info, "logged in").count("queued", self.queued.len() as u64),
        );
        self.outputs.push_back(SessionOutput::LoggedIn);
        while let Some((sequence, action)) = self.queued.pop_front() {
            if self.registry.contains(sequence) && !self.send(&action, sequence, now) {
                return;
            }
        }
    }

    fn login_failed(&mut self, message: &str, now: Instant) {
        self.log(LogRecord::new(Level::Error, "login failed").text("message", message));
        self.outputs.push_back(SessionOutput::LoginFailed {
            message: message.to_owned(),
        });
        self.request_close(CloseReason::LoginFailed);
        self.lose_connection(&AmiError::ConnectionLost, now);
    }

    fn on_pong(&mut self) {
        self.heartbeat.outstanding = None;
        self.heartbeat.misses = 0;
        if self.state == SessionState::Degraded {
            self.state = SessionState::Ready;
            self.log(LogRecord::new(
                Level::Info,
                "heartbeat answered; connection healthy again",
            ));
        }
    }

    fn check_handshake_deadline(&mut self, now: Instant) {
        let (deadline, reason) = match self.handshake {
            Handshake::Idle => return,
            Handshake::AwaitBanner { deadline } => (deadline, CloseReason::BannerTimeout),
            Handshake::Challenge { deadline, .. } | Handshake::Login { deadline, .. } => {
                (deadline, CloseReason::LoginTimeout)
            }
        };
        if now >= deadline {
            self.log(
                LogRecord::new(Level::Error, "handshake timed out")
                    .text("reason", format!("{reason:?}")),
            );
            self.request_close(reason);
            self.lose_connection(&AmiError::ConnectionLost, now);
        }
    }

    fn tick_heartbeat(&mut self, now: Instant) {
        if !self.is_logged_in() {
            return;
        }
        if let Some((_, deadline)) = self.heartbeat.outstanding
            && now >= deadline
        {
            self.heartbeat.outstanding = None;
            self.heartbeat.misses += 1;
            self.metrics.counters.heartbeat_failures += 1;
            self.state = SessionState::Degraded;
            self.log(
                LogRecord::new(Level::Warn, "heartbeat missed; connection degraded")
                    .count("misses", u64::from(self.heartbeat.misses)),
            );
            if self.heartbeat.misses >= self.config.heartbeat_max_misses {
                self.request_close(CloseReason::HeartbeatDead);
                self.lose_connection(&AmiError::ConnectionLost, now);
                return;
            }
        }
        if self.heartbeat.outstanding.is_none()
            && self.heartbeat.next_ping.is_some_and(|due| now >= due)
        {
            let ping = Action::builtin("Ping");
            let (sequence, _) = self.ids.next_id();
            self.heartbeat.next_ping = Some(now + self.config.heartbeat_interval);
            self.heartbeat.outstanding = Some((sequence, now + self.config.heartbeat_timeout));
            self.send(&ping, sequence, now);
        }
    }

    /// Sends `Logoff` once nothing is pending or the grace is over.
    fn advance_shutdown(&mut self, now: Instant) {
        let Some(shutdown) = self.shutdown else {
            return;
        };
        if shutdown.logoff.is_some() || !self.registry.is_empty() && now < shutdown.grace_deadline {
            return;
        }
        let (sequence, _) = self.ids.next_id();
        if self.send(&Action::builtin("Logoff"), sequence, now) {
            self.shutdown = Some(Shutdown {
                logoff: Some(sequence),
                // Wait for the `Goodbye` as long as for a heartbeat.
                close_deadline: Some(now + self.config.heartbeat_timeout),
                ..shutdown
            });
        }
    }

    /// The `Logoff` was answered, or not in time: close.
    fn finish_shutdown(&mut self, now: Instant) {
        self.request_close(CloseReason::Shutdown);
        self.lose_connection(&AmiError::ShuttingDown, now);
    }

    fn on_protocol_error(&mut self, error: &ProtocolError, now: Instant) {
        self.log(
            LogRecord::new(
                Level::Error,
                "unrecoverable stream; resetting the connection",
            )
            .text("error", error.to_string()),
        );
        self.request_close(CloseReason::Protocol(error.clone()));
        self.lose_connection(&AmiError::ConnectionLost, now);
    }

    fn check_memory(&mut self, now: Instant) {
        let used = self.heap_size();
        if used > self.config.memory_budget_bytes && self.is_connected() {
            self.metrics.counters.memory_budget_closes += 1;
            self.log(
                LogRecord::new(
                    Level::Error,
                    "memory budget exceeded; closing the connection",
                )
                .count("heap_bytes", used as u64)
                .count("budget_bytes", self.config.memory_budget_bytes as u64),
            );
            self.request_close(CloseReason::MemoryBudget);
            self.lose_connection(&AmiError::ConnectionLost, now);
            self.metrics.counters.dropped_events += self.events.len() as u64;
            self.events.terminate();
        }
    }

    fn request_close(&mut self, reason: CloseReason) {
        self.outputs.push_back(SessionOutput::Close { reason });
    }

    /// The connection is gone (or given up): every pending action ends with
    /// `error`, the buffers are cleared, the timers stop.
    fn lose_connection(&mut self, error: &AmiError, now: Instant) {
        self.fail_pending(error, now);
        self.queued.clear();
        self.outbound.terminate();
        self.parser.reset();
        self.handshake = Handshake::Idle;
        self.heartbeat = Heartbeat::default();
        self.state = SessionState::Disconnected;
    }

    /// Ends every pending action with `error`, in sequence order.
    fn fail_pending(&mut self, error: &AmiError, now: Instant) {
        let mut ended = Vec::new();
        self.registry
            .fail_all(error, now, |completion| ended.push(completion));
        for completion in ended {
            self.complete(completion, now);
        }
    }

    /// Records and reports one ending; the last pending action of a
    /// shutdown lets the `Logoff` go.
    fn complete(&mut self, completion: Completion, now: Instant) {
        self.record(&completion);
        self.outputs.push_back(SessionOutput::Completed(completion));
        if self.state == SessionState::Closing {
            self.advance_shutdown(now);
        }
    }

    fn record(&mut self, completion: &Completion) {
        let outcome = match &completion.result {
            Ok(response) if response.is_success() => Outcome::Success,
            Ok(_) => Outcome::Error,
            Err(AmiError::Timeout { .. }) => Outcome::Timeout,
            Err(AmiError::ConnectionLost) => Outcome::ConnectionLost,
            Err(AmiError::Rejected { .. }) => Outcome::Rejected,
            Err(AmiError::ShuttingDown) => Outcome::ShuttingDown,
            Err(AmiError::ListTooLong { .. }) => Outcome::ListTooLong,
        };
        self.metrics.record_action(outcome, completion.latency);
    }

    fn report_drops_now(&mut self, now: Instant) {
        self.log(
            LogRecord::new(Level::Warn, "event queue full; oldest events dropped")
                .count("dropped", self.unreported_drops)
                .count("queue_depth", self.events.len() as u64),
        );
        self.unreported_drops = 0;
        self.next_drop_report = Some(now + DROP_REPORT_INTERVAL);
    }

    fn report_drops(&mut self, now: Instant) {
        match self.next_drop_report {
            Some(due) if now >= due && self.unreported_drops > 0 => self.report_drops_now(now),
            Some(due) if now >= due => self.next_drop_report = None,
            _ => {}
        }
    }

    fn refresh_gauges(&mut self) {
        self.metrics.counters.pending_actions = self.registry.len() as u64;
        self.metrics.counters.event_queue_depth = self.events.len() as u64;
    }
}
