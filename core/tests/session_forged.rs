//! Answers that name an action before its bytes reached the socket are
//! forged or stray: they complete nothing, whatever the action (queued
//! before login, buffered but unwritten, the login itself, a heartbeat).

#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use std::time::Duration;

use apn_ami_core::connection::{AuthMethod, SessionState};
use apn_ami_core::protocol::{Action, Frame, Parser, ParserConfig};
use rig::{Rig, config};

/// The frames waiting in the session's buffer, read without taking them.
fn peek_unsent(rig: &Rig) -> Vec<Frame> {
    let mut parser = Parser::new(ParserConfig::server()).unwrap();
    let mut frames = Vec::new();
    if let Some(bytes) = rig.session.poll_transmit() {
        parser
            .feed(bytes, |item| frames.extend(item.into_frame()))
            .unwrap();
    }
    frames
}

/// The ActionID the session gives sequence `sequence`, from one it wrote.
fn id_for(written: &Frame, sequence: u64) -> String {
    let id = written.action_id().unwrap().to_string();
    let (prefix, _) = id.rsplit_once(':').unwrap();
    format!("{prefix}:{sequence}")
}

fn success(id: &str) -> String {
    format!("Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n")
}

fn warned_unsent(rig: &Rig) -> bool {
    rig.logs
        .iter()
        .any(|record| record.message.contains("not yet sent"))
}

#[test]
fn an_answer_to_an_action_queued_before_login_completes_nothing() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    let queued = rig.submit(Action::new("Ping").unwrap()).unwrap();
    rig.connect();
    rig.server_says("Asterisk Call Manager/11.0.0\r\n");
    let login = rig.written();
    rig.server_says(&success(&id_for(&login[0], queued.0)));
    assert!(
        rig.completions().is_empty(),
        "the queued Ping was never sent"
    );
    assert!(warned_unsent(&rig));

    rig.answer(&login[0], "Message: Authentication accepted\r\n");
    assert_eq!(rig.session.state(), SessionState::Ready);
    let sent = rig.written();
    assert_eq!(sent.len(), 1);
    rig.answer(&sent[0], "Ping: Pong\r\n");
    let done = rig.completions();
    assert_eq!(done.len(), 1, "the genuine answer completes it, once");
    assert_eq!(done[0].handle, queued);
    assert!(done[0].result.as_ref().unwrap().is_success());
}

#[test]
fn an_answer_to_an_action_still_in_the_buffer_completes_nothing() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    rig.log_in();
    let handle = rig.submit(Action::new("Ping").unwrap()).unwrap();
    let unsent = peek_unsent(&rig);
    assert_eq!(unsent.len(), 1);
    rig.answer(&unsent[0], "Ping: Pong\r\n");
    assert!(rig.completions().is_empty(), "its bytes never left");

    // Half of it written is still not sent: the server has not read it all.
    let length = rig.session.poll_transmit().unwrap().len();
    rig.session.consume(length - 1);
    rig.answer(&unsent[0], "Ping: Pong\r\n");
    assert!(rig.completions().is_empty(), "its last byte never left");

    rig.session.consume(1);
    rig.answer(&unsent[0], "Ping: Pong\r\n");
    let done = rig.completions();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].handle, handle);
}

#[test]
fn a_login_answered_before_it_is_written_does_not_log_in() {
    for auth in [AuthMethod::Plain, AuthMethod::Md5] {
        let mut rig = Rig::new(config(auth));
        rig.connect();
        rig.server_says("Asterisk Call Manager/11.0.0\r\n");
        let first = peek_unsent(&rig);
        assert_eq!(first.len(), 1);
        rig.answer(
            &first[0],
            "Challenge: 1234\r\nMessage: Authentication accepted\r\n",
        );
        assert_eq!(
            rig.session.state(),
            SessionState::Authenticating,
            "{auth:?}: a forged answer to an unwritten handshake action"
        );
        assert!(warned_unsent(&rig));
        assert!(peek_unsent(&rig).len() == 1, "nothing else was written");
    }
}

#[test]
fn a_heartbeat_answered_before_it_is_written_is_not_a_pong() {
    let mut config = config(AuthMethod::Plain);
    config.heartbeat_interval = Duration::from_secs(10);
    config.heartbeat_timeout = Duration::from_secs(2);
    let mut rig = Rig::new(config);
    rig.log_in();
    rig.tick(10_000);
    let ping = peek_unsent(&rig);
    assert_eq!(ping.len(), 1, "the heartbeat Ping is buffered");
    rig.answer(&ping[0], "Ping: Pong\r\n");
    rig.tick(12_000);
    assert_eq!(
        rig.session.state(),
        SessionState::Degraded,
        "a pong to a Ping never written does not count"
    );
}
