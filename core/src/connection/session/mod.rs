//! [`Session`]: one Asterisk server's connection as a pure state machine.
//!
//! This file holds the state and the public surface; `inbound` reads what the
//! server sends, `login` runs the handshake, `lifecycle` keeps the heartbeat,
//! the bounds, the endings and the shutdown.

mod accounting;
mod inbound;
mod lifecycle;
mod login;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::correlation::deadline_after;

use super::config::{SessionConfig, SessionConfigError};
use super::event_queue::EventQueue;
use super::outbound::Outbound;
use super::state::{CloseReason, SessionOutput, SessionState, SubmitOptions};
use crate::correlation::{
    ActionHandle, ActionIds, AmiError, Bound, CompletionStrategy, InstanceId, PendingRegistry,
    ServerKey,
};
use crate::observe::{Counters, Level, LogQueue, LogRecord, Outcome, ServerMetrics};
use crate::protocol::{Action, Frame, Item, MAX_ACTION_ID_LEN, Parser};

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
    /// Actions waiting to be written, with their sequence, in order: all
    /// of them before the login, and after it those the outbound buffer
    /// has no room for yet.
    queued: VecDeque<(u64, Action)>,
    /// Heap bytes of the queued actions.
    queued_bytes: usize,
    /// Heap bytes of the outputs waiting to be polled.
    outputs_bytes: usize,
    /// The latest instant the session was given, for work started by
    /// [`Session::consume`], which takes none.
    latest: Option<Instant>,
    handshake: Handshake,
    heartbeat: Heartbeat,
    shutdown: Option<Shutdown>,
    /// Events dropped since the last report, and when the next may be made.
    unreported_drops: u64,
    next_drop_report: Option<Instant>,
    /// Parser items of one input, reused.
    scratch: Vec<Item>,
    /// Logins refused since the last success (a streak is logged once).
    login_failures_in_a_row: u32,
    /// The server's `Shutdown` event said `Restart: True`: it is coming
    /// back. Kept until the cluster reads it at the disconnect.
    restart_expected: bool,
    /// Login, Challenge, heartbeat Ping and Logoff sequences written to
    /// the buffer but not yet to the socket (at most a few): an answer
    /// naming one of them is forged or stray.
    unsent_control: Vec<u64>,
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
            queued_bytes: 0,
            outputs_bytes: 0,
            latest: None,
            handshake: Handshake::Idle,
            heartbeat: Heartbeat::default(),
            shutdown: None,
            unreported_drops: 0,
            next_drop_report: None,
            scratch: Vec::new(),
            unsent_control: Vec::new(),
            restart_expected: false,
            login_failures_in_a_row: 0,
        })
    }

    /// Where the connection stands.
    #[must_use]
    pub const fn state(&self) -> SessionState {
        self.state
    }

    /// The server's key.
    #[must_use]
    pub const fn server_key(&self) -> &ServerKey {
        &self.config.server_key
    }

    /// The server's `host:port`, as configured for logs and labels.
    #[must_use]
    pub fn server_host(&self) -> &str {
        &self.config.server_host
    }

    /// Counters the cluster keeps in this server's metrics (reconnects,
    /// breaker, routing).
    pub(crate) const fn counters_mut(&mut self) -> &mut Counters {
        &mut self.metrics.counters
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
        self.held_bytes()
    }

    /// The runtime is opening the socket. Ignored after a shutdown or an
    /// abort: no connection may come up again.
    pub fn handle_connecting(&mut self) {
        if self.state == SessionState::Disconnected && self.shutdown.is_none() {
            self.state = SessionState::Connecting;
        }
    }

    /// The socket is open: the banner is due within the banner timeout.
    /// After a shutdown or an abort (a connect that was under way when it
    /// came), the socket is closed again at once and nothing is written.
    pub fn handle_connected(&mut self, now: Instant) {
        self.latest = Some(now);
        if self.shutdown.is_some() {
            self.request_close(CloseReason::Shutdown);
            return;
        }
        self.parser.reset();
        self.restart_expected = false;
        self.state = SessionState::AwaitingBanner;
        self.handshake = Handshake::AwaitBanner {
            deadline: deadline_after(now, self.config.banner_timeout),
        };
        self.log(LogRecord::new(
            Level::Info,
            "connected; awaiting the banner",
        ));
    }

    /// Bytes read from the socket.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.latest = Some(now);
        if !self.is_connected() {
            return;
        }
        self.metrics.counters.bytes_received += bytes.len() as u64;
        let mut items = std::mem::take(&mut self.scratch);
        // Answers without an ActionID can only be told from garbage by
        // whether one is awaited (see `CompletionStrategy::Headerless`).
        self.parser
            .set_headerless_due(self.registry.headerless_due());
        let parsed = self.parser.feed(bytes, |item| items.push(item));
        for item in items.drain(..) {
            self.on_item(item, now);
        }
        self.scratch = items;
        let stats = self.parser.stats();
        let resynced = stats.resyncs - self.metrics.counters.resyncs;
        if resynced > 0 {
            let skipped = stats.bytes_skipped - self.metrics.counters.bytes_skipped;
            self.log(
                LogRecord::new(
                    Level::Warn,
                    "damaged bytes skipped through the next blank line",
                )
                .count("blocks", resynced)
                .count("bytes_skipped", skipped),
            );
        }
        self.metrics.counters.protocol_errors = stats.protocol_errors;
        self.metrics.counters.frames_discarded = stats.frames_discarded;
        self.metrics.counters.resyncs = stats.resyncs;
        self.metrics.counters.bytes_skipped = stats.bytes_skipped;
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
    /// [`AmiError::Rejected`] when the pending limit or the queue of actions
    /// waiting to be written is full, when the action is larger than the
    /// outbound bound, or when holding it would pass the memory budget.
    pub fn submit(
        &mut self,
        action: Action,
        options: SubmitOptions,
        now: Instant,
    ) -> Result<ActionHandle, AmiError> {
        self.latest = Some(now);
        if self.shutdown.is_some() {
            self.metrics.record_refusal(Outcome::ShuttingDown);
            return Err(AmiError::ShuttingDown);
        }
        // Straight to the buffer only when logged in with nothing waiting:
        // actions are written in the order they were accepted.
        let direct = self.is_logged_in() && self.queued.is_empty();
        if !direct && self.queued.len() >= self.config.max_queued_before_login {
            return Err(self.reject(
                &action,
                Bound::QueuedBeforeLogin,
                self.queued.len(),
                self.config.max_queued_before_login,
            ));
        }
        let length = action.encoded_len(Some(MAX_ACTION_ID_LEN));
        if length > self.config.max_outbound_bytes {
            return Err(self.reject(
                &action,
                Bound::OutboundBytes,
                length,
                self.config.max_outbound_bytes,
            ));
        }
        let held = self.held_bytes();
        if held + length > self.config.memory_budget_bytes {
            return Err(self.reject(
                &action,
                Bound::MemoryBudget,
                held,
                self.config.memory_budget_bytes,
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
        if direct {
            self.send(&action, sequence, now);
        } else {
            self.queue_action(sequence, action);
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
        self.end_drop_burst("shutdown");
        self.shutdown = Some(Shutdown {
            grace_deadline: deadline_after(now, self.config.shutdown_grace),
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
        self.latest = Some(now);
        let mut expired = Vec::new();
        self.registry
            .expire(now, |completion| expired.push(completion));
        for completion in expired {
            let id = self.ids.id_of(completion.handle.0).to_owned();
            self.log(LogRecord::new(Level::Warn, "action timed out").action_id(&id));
            self.complete(completion, now);
        }
        self.prune_queue();
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
        let (registry, control) = (&mut self.registry, &mut self.unsent_control);
        let taken = self.outbound.consume(count, |sequence| {
            registry.mark_sent(sequence);
            control.retain(|&unsent| unsent != sequence);
        });
        self.metrics.counters.bytes_sent += taken as u64;
        // Room in the buffer: the next waiting actions go in.
        if let Some(now) = self.latest {
            self.pump_queue(now);
        }
    }

    /// The next output: control outputs and completions first, then events
    /// from the bounded event queue.
    pub fn poll_output(&mut self) -> Option<SessionOutput> {
        self.poll_control()
            .or_else(|| self.poll_event().map(SessionOutput::Event))
    }

    /// The next control output or completion, leaving events queued: a
    /// cluster takes these at once and drains events fairly across servers.
    pub fn poll_control(&mut self) -> Option<SessionOutput> {
        self.pop_output()
    }

    /// The next event from the bounded event queue.
    pub fn poll_event(&mut self) -> Option<Frame> {
        let event = self.events.pop()?;
        self.metrics.counters.event_queue_depth = self.events.len() as u64;
        if self.events.len() == 0 {
            self.end_drop_burst("queue drained");
        }
        Some(event)
    }

    /// Gives the connection up at once and for good (an emergency): every
    /// pending action ends with [`AmiError::ConnectionLost`], buffers are
    /// freed, and the runtime is asked to close the socket if one is open.
    /// Like [`Session::shutdown`], it is final: no action is taken and no
    /// connection comes up afterwards, not even one already being opened.
    pub fn abort(&mut self, reason: CloseReason, now: Instant) {
        if self.is_connected() {
            self.request_close(reason);
        }
        if self.shutdown.is_none() {
            self.shutdown = Some(Shutdown {
                grace_deadline: now,
                logoff: None,
                close_deadline: None,
            });
        }
        self.lose_connection(&AmiError::ConnectionLost, now);
        self.metrics.counters.dropped_events += self.events.len() as u64;
        // Final: every buffer goes now, not at the disconnect.
        self.terminate();
        self.refresh_gauges();
    }

    /// Whether the server announced a restart (`Shutdown` with `Restart:
    /// True`) on the connection that just ended; reading it clears it.
    pub fn take_restart_expected(&mut self) -> bool {
        std::mem::take(&mut self.restart_expected)
    }

    /// Whether events wait in the queue.
    #[must_use]
    pub fn has_events(&self) -> bool {
        self.events.len() > 0
    }

    /// Whether log records wait to be drained.
    #[must_use]
    pub fn has_logs(&self) -> bool {
        !self.logs.is_empty()
    }

    /// The next log record, already redacted.
    pub fn poll_log(&mut self) -> Option<LogRecord> {
        let record = self.logs.pop()?;
        self.release_drained();
        Some(record)
    }

    /// Frees every buffer and queue once the connection is gone for good;
    /// pending actions were ended before (by the disconnect). Counters are
    /// kept.
    fn terminate(&mut self) {
        self.parser.terminate();
        self.outbound.terminate();
        self.events.terminate();
        self.queued = VecDeque::new();
        self.queued_bytes = 0;
        self.scratch = Vec::new();
        self.release_drained();
        self.unsent_control = Vec::new();
    }
}
