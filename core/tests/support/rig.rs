//! A session under test: the test plays Asterisk with wire text, reads what
//! the session wrote with a server-side parser, and checks after every step
//! that no secret byte reached a log record or a `Debug` output.

// Each test file uses its own part.
#![allow(dead_code)]

use std::time::Instant;

use apn_ami_core::connection::{
    AuthMethod, Session, SessionConfig, SessionOutput, SessionState, SubmitOptions,
};
use apn_ami_core::correlation::{ActionHandle, AmiError, Completion, InstanceId, ServerKey};
use apn_ami_core::observe::{LogRecord, Secret};
use apn_ami_core::protocol::{Action, Frame, Parser, ParserConfig};

/// The secret every rig logs in with; it must never show up in logs.
pub(crate) const SECRET: &str = "Sup3r-s3cret";

pub(crate) struct Rig {
    pub(crate) session: Session,
    pub(crate) t0: Instant,
    /// Milliseconds since `t0` of the last input.
    pub(crate) ms: u64,
    server: Parser,
    pub(crate) outputs: Vec<SessionOutput>,
    pub(crate) logs: Vec<LogRecord>,
}

pub(crate) fn config(auth: AuthMethod) -> SessionConfig {
    let mut config = SessionConfig::new(
        ServerKey::new("pbx1").unwrap(),
        "127.0.0.1:5038",
        "admin",
        Secret::new(SECRET),
    );
    config.auth = auth;
    config
}

impl Rig {
    pub(crate) fn new(config: SessionConfig) -> Self {
        Self {
            session: Session::new(config, InstanceId(0xab)).expect("valid config"),
            t0: super::frames::epoch(),
            ms: 0,
            server: Parser::new(ParserConfig::server()).unwrap(),
            outputs: Vec::new(),
            logs: Vec::new(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        super::frames::at(self.t0, self.ms)
    }

    /// Moves the clock to `ms` and runs the tick.
    pub(crate) fn tick(&mut self, ms: u64) {
        self.ms = ms;
        let now = self.now();
        self.session.handle_timeout(now);
        self.drain();
    }

    pub(crate) fn connect(&mut self) {
        self.session.handle_connecting();
        self.session.handle_connected(self.now());
        self.drain();
    }

    /// The server sends `wire`.
    pub(crate) fn server_says(&mut self, wire: &str) {
        let now = self.now();
        self.session.handle_input(wire.as_bytes(), now);
        self.drain();
    }

    /// Everything the session wrote, as frames, taken all at once.
    pub(crate) fn written(&mut self) -> Vec<Frame> {
        self.written_in_pieces(usize::MAX)
    }

    /// Everything the session wrote, the socket taking `piece` bytes a time.
    pub(crate) fn written_in_pieces(&mut self, piece: usize) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(bytes) = self.session.poll_transmit() {
            let take = bytes.len().min(piece);
            let chunk = bytes[..take].to_vec();
            self.session.consume(take);
            self.server
                .feed(&chunk, |item| frames.extend(item.into_frame()))
                .expect("the session writes valid AMI");
        }
        frames
    }

    pub(crate) fn drain(&mut self) {
        while let Some(output) = self.session.poll_output() {
            self.outputs.push(output);
        }
        while let Some(record) = self.session.poll_log() {
            self.logs.push(record);
        }
        let shown = format!("{:?} {:?} {:?}", self.logs, self.outputs, self.session);
        assert!(
            !shown.contains(SECRET),
            "the secret leaked into a log or Debug output"
        );
        if let Some(next) = self.session.poll_timeout() {
            assert!(next >= self.t0, "poll_timeout is never before the epoch");
        }
    }

    /// Logs in with the configured method, answering as Asterisk does.
    pub(crate) fn log_in(&mut self) {
        self.connect();
        self.server_says("Asterisk Call Manager/11.0.0\r\n");
        let first = self.written();
        assert_eq!(first.len(), 1, "one handshake action at a time");
        let id = first[0].action_id().unwrap().to_string();
        if first[0].first_value() == "Challenge" {
            self.server_says(&format!(
                "Response: Success\r\nActionID: {id}\r\nChallenge: 840382147\r\n\r\n"
            ));
            let login = self.written();
            let id = login[0].action_id().unwrap().to_string();
            self.server_says(&format!(
                "Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n"
            ));
        } else {
            self.server_says(&format!(
                "Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n"
            ));
        }
        assert_eq!(self.session.state(), SessionState::Ready);
        assert!(self.outputs.contains(&SessionOutput::LoggedIn));
        self.outputs.clear();
    }

    pub(crate) fn submit(&mut self, action: Action) -> Result<ActionHandle, AmiError> {
        let now = self.now();
        let result = self.session.submit(action, SubmitOptions::default(), now);
        self.drain();
        result
    }

    /// The completions reported so far, taken out of `outputs`.
    pub(crate) fn completions(&mut self) -> Vec<Completion> {
        let (done, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.outputs)
            .into_iter()
            .partition(|output| matches!(output, SessionOutput::Completed(_)));
        self.outputs = rest;
        done.into_iter()
            .map(|output| match output {
                SessionOutput::Completed(completion) => completion,
                _ => unreachable!("partitioned"),
            })
            .collect()
    }

    /// Answers the written action `frame` with `Response: Success` plus `extra` lines.
    pub(crate) fn answer(&mut self, frame: &Frame, extra: &str) {
        let id = frame.action_id().unwrap().to_string();
        self.server_says(&format!(
            "Response: Success\r\nActionID: {id}\r\n{extra}\r\n"
        ));
    }
}
