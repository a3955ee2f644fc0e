//! The handshake: banner, then `Challenge` and `Login`, within deadlines.

use std::time::Instant;

use crate::correlation::deadline_after;

use super::{Handshake, Heartbeat, Session};
use crate::connection::config::AuthMethod;
use crate::connection::handshake;
use crate::connection::state::{CloseReason, SessionOutput, SessionState};
use crate::correlation::AmiError;
use crate::observe::{Level, LogRecord, LoginFailure};
use crate::protocol::Frame;

impl Session {
    pub(super) fn start_login(&mut self, now: Instant) {
        self.state = SessionState::Authenticating;
        let deadline = deadline_after(now, self.config.login_timeout);
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

    pub(super) fn on_challenge(&mut self, frame: &Frame, deadline: Instant, now: Instant) {
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

    pub(super) fn on_login(&mut self, frame: &Frame, now: Instant) {
        if !handshake::succeeded(frame) {
            return self.login_failed(&handshake::message(frame), now);
        }
        self.handshake = Handshake::Idle;
        self.state = SessionState::Ready;
        if self.login_failures_in_a_row > 1 {
            self.log(
                LogRecord::new(Level::Info, "logged in after failed logins")
                    .count("failed", u64::from(self.login_failures_in_a_row)),
            );
        }
        self.login_failures_in_a_row = 0;
        self.heartbeat = Heartbeat {
            next_ping: Some(deadline_after(now, self.config.heartbeat_interval)),
            ..Heartbeat::default()
        };
        self.log(
            LogRecord::new(Level::Info, "logged in").count("queued", self.queued.len() as u64),
        );
        self.push_output(SessionOutput::LoggedIn);
        self.pump_queue(now);
    }

    pub(super) fn login_failed(&mut self, message: &str, now: Instant) {
        let reason = LoginFailure::classify(message);
        self.metrics.record_login_failure(reason);
        self.login_failures_in_a_row += 1;
        // Once per streak at error level: a wrong secret retried with
        // backoff would otherwise log the same line for hours.
        let level = if self.login_failures_in_a_row == 1 {
            Level::Error
        } else {
            Level::Debug
        };
        self.log(
            LogRecord::new(level, "login failed")
                .text("message", message)
                .text("reason", reason.label())
                .count("in_a_row", u64::from(self.login_failures_in_a_row)),
        );
        self.push_output(SessionOutput::LoginFailed {
            message: message.to_owned(),
        });
        self.request_close(CloseReason::LoginFailed);
        self.lose_connection(&AmiError::ConnectionLost, now);
    }

    pub(super) fn check_handshake_deadline(&mut self, now: Instant) {
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
}
