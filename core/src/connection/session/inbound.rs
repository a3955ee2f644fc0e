//! What the server sends: banner, responses, events.

use std::time::Instant;

use crate::correlation::deadline_after;

use super::{DROP_REPORT_INTERVAL, Handshake, Session};
use crate::connection::handshake;
use crate::correlation::{AmiError, Dispatch};
use crate::observe::{Level, LogRecord};
use crate::protocol::{Frame, FrameKind, Item};

impl Session {
    pub(super) fn on_item(&mut self, item: Item, now: Instant) {
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
            Item::HeaderlessTooLarge { limit } => {
                let ended = self.registry.headerless_owner().and_then(|sequence| {
                    self.registry
                        .fail(sequence, AmiError::AnswerTooLarge { limit }, now)
                });
                self.log(
                    LogRecord::new(
                        Level::Warn,
                        "a headerless answer passed the frame size limit and was discarded",
                    )
                    .count("limit", limit as u64),
                );
                if let Some(completion) = ended {
                    self.complete(completion, now);
                }
            }
        }
    }

    pub(super) fn sequence_of(&self, frame: &Frame) -> Option<u64> {
        frame
            .action_id()
            .and_then(|id| self.ids.sequence_of(id.as_bytes()))
    }

    pub(super) fn on_response(&mut self, frame: Frame, now: Instant) {
        let owner = if frame.is_headerless() {
            // The parser reads one only while an action awaits it.
            self.registry.headerless_owner()
        } else {
            self.sequence_of(&frame)
        };
        let Some(sequence) = owner else {
            let record = if frame.is_headerless() {
                // Its action was answered otherwise earlier in this read.
                LogRecord::new(Level::Warn, "headerless answer no action awaits dropped")
            } else {
                LogRecord::new(
                    Level::Debug,
                    "response without one of our ActionIDs dropped",
                )
            };
            self.log(record);
            return;
        };
        if self.unsent_control.contains(&sequence) || self.registry.is_unsent(sequence) {
            self.log(
                LogRecord::new(
                    Level::Warn,
                    "response to an action not yet sent dropped (forged or stray)",
                )
                .count("sequence", sequence),
            );
            return;
        }
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
            // Only a successful answer is a pong. Asterisk answers every
            // action with an error while it shuts down: the connection is
            // alive, and the server is draining.
            if frame.first_value().eq_ignore_ascii_case("success") {
                return self.on_pong();
            }
            if Self::says_shutting_down(&frame) {
                self.heartbeat.outstanding = None;
                self.heartbeat.misses = 0;
                return self.enter_draining(
                    "a heartbeat was answered 'Asterisk is shutting down'",
                    false,
                );
            }
            let record = LogRecord::new(
                Level::Warn,
                "heartbeat answered with an error; connection degraded",
            )
            .text("message", handshake::message(&frame));
            self.miss_heartbeat(record, now);
            return;
        }
        if self
            .shutdown
            .is_some_and(|shutdown| shutdown.logoff == Some(sequence))
        {
            // The Goodbye: close once, and disarm the close deadline.
            self.finish_shutdown(now);
            return;
        }
        if Self::says_shutting_down(&frame) {
            self.enter_draining("an action was answered 'Asterisk is shutting down'", false);
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

    pub(super) fn on_event(&mut self, frame: Frame, now: Instant) {
        // An event naming an unsent action is not one of its list items:
        // the registry hands it back, and it goes to the application.
        if frame.first_value().eq_ignore_ascii_case("shutdown") {
            let restart = frame
                .get("restart")
                .is_some_and(|value| value.eq_ignore_ascii_case("true"));
            self.enter_draining("the server sent its Shutdown event", restart);
        }
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

    pub(super) fn report_drops_now(&mut self, now: Instant) {
        self.log(
            LogRecord::new(Level::Warn, "event queue full; oldest events dropped")
                .count("dropped", self.unreported_drops)
                .count("queue_depth", self.events.len() as u64),
        );
        self.unreported_drops = 0;
        self.next_drop_report = Some(deadline_after(now, DROP_REPORT_INTERVAL));
    }

    /// The burst is over (the queue drained, the connection closed, or the
    /// session shuts down): drops not yet reported reach the log now with
    /// their count, rather than waiting for a timer that may never fire.
    pub(super) fn end_drop_burst(&mut self, why: &'static str) {
        if self.unreported_drops == 0 {
            return;
        }
        self.log(
            LogRecord::new(Level::Warn, "event queue drops since the last report")
                .count("dropped", self.unreported_drops)
                .text("burst_ended", why),
        );
        self.unreported_drops = 0;
    }

    pub(super) fn report_drops(&mut self, now: Instant) {
        match self.next_drop_report {
            Some(due) if now >= due && self.unreported_drops > 0 => self.report_drops_now(now),
            Some(due) if now >= due => self.next_drop_report = None,
            _ => {}
        }
    }
}
