//! Heartbeat, bounds, endings and shutdown.

use std::time::Instant;

use crate::correlation::deadline_after;

use super::{Handshake, Heartbeat, Session, Shutdown};
use crate::connection::state::{CloseReason, SessionOutput, SessionState};
use crate::correlation::{AmiError, Bound, Completion};
use crate::observe::{Level, LogRecord, Outcome};
use crate::protocol::{Action, ProtocolError};

impl Session {
    pub(super) const fn is_connected(&self) -> bool {
        !matches!(
            self.state,
            SessionState::Disconnected | SessionState::Connecting
        )
    }

    pub(super) const fn is_logged_in(&self) -> bool {
        matches!(
            self.state,
            SessionState::Ready | SessionState::Degraded | SessionState::Draining
        )
    }

    pub(super) fn log(&mut self, record: LogRecord) {
        let record = record.server(self.config.server_key.as_str(), &self.config.server_host);
        self.logs.push(record);
    }

    /// Counts and reports a refused action; its headers appear redacted.
    pub(super) fn reject(
        &mut self,
        action: &Action,
        bound: Bound,
        depth: usize,
        limit: usize,
    ) -> AmiError {
        self.metrics.counters.rejected_actions += 1;
        self.metrics.record_refusal(Outcome::Rejected);
        let headers: Vec<String> = action
            .headers()
            .map(|(key, value)| {
                super::accounting::shown(&self.config.redactor, key, value.as_bytes())
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
    pub(super) fn send(&mut self, action: &Action, sequence: u64, now: Instant) -> bool {
        let limit = self.config.max_outbound_bytes;
        let id = self.ids.id_of(sequence);
        let appended = self
            .outbound
            .append(limit, sequence, |out| action.write_to(Some(id), out));
        if appended && !self.registry.contains(sequence) {
            self.unsent_control.push(sequence);
        }
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

    /// The server said it is shutting down: no new action goes to it (the
    /// cluster stops routing here); what is pending ends normally. A
    /// `Restart: True` says it is coming back, so reconnects start again
    /// from the base delay.
    pub(super) fn enter_draining(&mut self, why: &'static str, restart: bool) {
        self.restart_expected |= restart;
        if self.state == SessionState::Draining || !self.is_logged_in() {
            return;
        }
        self.state = SessionState::Draining;
        self.metrics.counters.drainings += 1;
        self.log(
            LogRecord::new(
                Level::Warn,
                "server is shutting down; draining (no new actions)",
            )
            .text("because", why)
            .count("pending", self.registry.len() as u64),
        );
    }

    pub(super) fn on_pong(&mut self) {
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

    /// A heartbeat went unanswered or was answered with an error: the
    /// connection is degraded, and closed after too many in a row. `true`
    /// when it was closed.
    pub(super) fn miss_heartbeat(&mut self, record: LogRecord, now: Instant) -> bool {
        self.heartbeat.outstanding = None;
        self.heartbeat.misses += 1;
        self.metrics.counters.heartbeat_failures += 1;
        if self.state != SessionState::Draining {
            self.state = SessionState::Degraded;
        }
        self.log(record.count("misses", u64::from(self.heartbeat.misses)));
        if self.heartbeat.misses >= self.config.heartbeat_max_misses {
            self.request_close(CloseReason::HeartbeatDead);
            self.lose_connection(&AmiError::ConnectionLost, now);
            return true;
        }
        false
    }

    pub(super) fn tick_heartbeat(&mut self, now: Instant) {
        if !self.is_logged_in() {
            return;
        }
        if let Some((_, deadline)) = self.heartbeat.outstanding
            && now >= deadline
            && self.miss_heartbeat(
                LogRecord::new(Level::Warn, "heartbeat missed; connection degraded"),
                now,
            )
        {
            return;
        }
        if self.heartbeat.outstanding.is_none()
            && self.heartbeat.next_ping.is_some_and(|due| now >= due)
        {
            let ping = Action::builtin("Ping");
            let (sequence, _) = self.ids.next_id();
            self.heartbeat.next_ping = Some(deadline_after(now, self.config.heartbeat_interval));
            self.heartbeat.outstanding =
                Some((sequence, deadline_after(now, self.config.heartbeat_timeout)));
            self.send(&ping, sequence, now);
        }
    }

    /// Sends `Logoff` once nothing is pending or the grace is over.
    pub(super) fn advance_shutdown(&mut self, now: Instant) {
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
                close_deadline: Some(deadline_after(now, self.config.heartbeat_timeout)),
                ..shutdown
            });
        }
    }

    /// The `Logoff` was answered, or not in time: close.
    pub(super) fn finish_shutdown(&mut self, now: Instant) {
        self.request_close(CloseReason::Shutdown);
        self.lose_connection(&AmiError::ShuttingDown, now);
    }

    pub(super) fn on_protocol_error(&mut self, error: &ProtocolError, now: Instant) {
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

    pub(super) fn check_memory(&mut self, now: Instant) {
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

    pub(super) fn request_close(&mut self, reason: CloseReason) {
        self.push_output(SessionOutput::Close { reason });
    }

    /// The connection is gone (or given up): every pending action ends with
    /// `error`, the buffers are cleared, the timers stop.
    ///
    /// Actions still in the queue were never written: unless the session is
    /// ending for good, they keep waiting for the next login (or their own
    /// deadline). Nothing that may have reached the server is replayed.
    pub(super) fn lose_connection(&mut self, error: &AmiError, now: Instant) {
        self.end_drop_burst("connection closed");
        if self.shutdown.is_some() {
            self.fail_pending(error, now);
            self.clear_queue();
        } else {
            self.fail_all_but_queued(error, now);
        }
        self.outbound.terminate();
        self.unsent_control.clear();
        self.parser.reset();
        self.handshake = Handshake::Idle;
        self.heartbeat = Heartbeat::default();
        self.state = SessionState::Disconnected;
    }

    /// Whether an answer says the server is shutting down (Asterisk
    /// answers every action so while it waits for calls to end).
    pub(super) fn says_shutting_down(frame: &crate::protocol::Frame) -> bool {
        !frame.first_value().eq_ignore_ascii_case("success")
            && frame
                .get("message")
                .is_some_and(|message| message.eq_ignore_ascii_case("asterisk is shutting down"))
    }

    /// Ends every pending action with `error`, in sequence order.
    pub(super) fn fail_pending(&mut self, error: &AmiError, now: Instant) {
        let mut ended = Vec::new();
        self.registry
            .fail_all(error, now, |completion| ended.push(completion));
        for completion in ended {
            self.complete(completion, now);
        }
    }

    fn fail_all_but_queued(&mut self, error: &AmiError, now: Instant) {
        let mut ended = Vec::new();
        // The queue is in submit order, so in sequence order.
        let queued = &self.queued;
        let is_queued = |sequence: u64| {
            queued
                .binary_search_by_key(&sequence, |(queued, _)| *queued)
                .is_ok()
        };
        self.registry
            .fail_all_except(error, now, is_queued, |completion| ended.push(completion));
        for completion in ended {
            self.complete(completion, now);
        }
    }

    /// Records and reports one ending; the last pending action of a
    /// shutdown lets the `Logoff` go.
    pub(super) fn complete(&mut self, completion: Completion, now: Instant) {
        self.record(&completion);
        self.push_output(SessionOutput::Completed(completion));
        if self.state == SessionState::Closing {
            self.advance_shutdown(now);
        }
    }

    pub(super) fn record(&mut self, completion: &Completion) {
        let outcome = match &completion.result {
            Ok(response) if response.is_success() => Outcome::Success,
            Ok(_) => Outcome::Error,
            Err(AmiError::Timeout { .. }) => Outcome::Timeout,
            Err(AmiError::ConnectionLost) => Outcome::ConnectionLost,
            // Routing refusals never reach a session; they count as rejections.
            Err(
                AmiError::Rejected { .. }
                | AmiError::NoHealthyServer
                | AmiError::CircuitOpen
                | AmiError::ServerUnavailable
                | AmiError::UnknownServer { .. }
                | AmiError::UnknownServerKey { .. }
                | AmiError::AlreadyPending { .. },
            ) => Outcome::Rejected,
            Err(AmiError::ShuttingDown) => Outcome::ShuttingDown,
            Err(AmiError::ListTooLong { .. }) => Outcome::ListTooLong,
            Err(AmiError::AnswerTooLarge { .. }) => Outcome::AnswerTooLarge,
        };
        self.metrics.record_action(outcome, completion.latency);
    }

    pub(super) fn refresh_gauges(&mut self) {
        self.metrics.counters.pending_actions = self.registry.len() as u64;
        self.metrics.counters.event_queue_depth = self.events.len() as u64;
    }
}
