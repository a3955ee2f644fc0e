//! The session's handshake: banner, plain and MD5 login, failures and
//! timeouts, and the rule that nothing but the handshake is written before
//! the login succeeds.

#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use apn_ami_core::connection::{AuthMethod, CloseReason, SessionOutput, SessionState};
use apn_ami_core::correlation::AmiError;
use apn_ami_core::protocol::Action;
use std::fmt::Write as _;

use md5::{Digest, Md5};
use rig::{Rig, SECRET, config};

fn pairs(frame: &apn_ami_core::protocol::Frame) -> Vec<(String, String)> {
    frame
        .headers()
        .filter(|(key, _)| *key != "actionid")
        .map(|(key, value)| (key.to_owned(), value.to_string()))
        .collect()
}

fn expect(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn plain_login() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    assert_eq!(rig.session.state(), SessionState::Disconnected);
    rig.connect();
    assert_eq!(rig.session.state(), SessionState::AwaitingBanner);
    assert!(
        rig.session.poll_transmit().is_none(),
        "nothing before the banner"
    );
    rig.server_says("Asterisk Call Manager/11.0.0\r\n");
    assert_eq!(rig.session.state(), SessionState::Authenticating);
    let login = rig.written();
    assert_eq!(
        pairs(&login[0]),
        expect(&[
            ("action", "Login"),
            ("username", "admin"),
            ("secret", SECRET),
            ("events", "on")
        ])
    );
    let id = login[0].action_id().unwrap().to_string();
    assert!(id.starts_with("pbx1:000000ab:"), "{id}");
    rig.server_says(&format!(
        "Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n"
    ));
    assert_eq!(rig.session.state(), SessionState::Ready);
    assert_eq!(rig.outputs, [SessionOutput::LoggedIn]);
}

#[test]
fn md5_challenge_login() {
    let mut rig = Rig::new(config(AuthMethod::Md5));
    rig.connect();
    rig.server_says("Asterisk Call Manager/11.0.0\r\n");
    let challenge = rig.written();
    assert_eq!(
        pairs(&challenge[0]),
        expect(&[("action", "Challenge"), ("authtype", "MD5")])
    );
    let id = challenge[0].action_id().unwrap().to_string();
    rig.server_says(&format!(
        "Response: Success\r\nActionID: {id}\r\nChallenge: 840382147\r\n\r\n"
    ));
    let login = rig.written();
    let key = Md5::digest(format!("840382147{SECRET}").as_bytes())
        .iter()
        .fold(String::new(), |mut hex, byte| {
            write!(hex, "{byte:02x}").unwrap();
            hex
        });
    assert_eq!(
        pairs(&login[0]),
        expect(&[
            ("action", "Login"),
            ("authtype", "MD5"),
            ("username", "admin"),
            ("key", &key),
            ("events", "on")
        ])
    );
    assert!(!format!("{:?}", login[0].get("key")).contains(SECRET));
    let id = login[0].action_id().unwrap().to_string();
    rig.server_says(&format!(
        "Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n"
    ));
    assert_eq!(rig.session.state(), SessionState::Ready);
}

#[test]
fn events_mask_comes_from_config() {
    let mut settings = config(AuthMethod::Plain);
    settings.events = "call,system".to_owned();
    let mut rig = Rig::new(settings);
    rig.connect();
    rig.server_says("Asterisk Call Manager/11.0.0\r\n");
    assert_eq!(rig.written()[0].get("events").unwrap(), "call,system");
}

#[test]
fn refused_login_is_a_typed_failure_and_closes_without_retrying() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    rig.connect();
    let queued = rig.submit(Action::new("Ping").unwrap()).unwrap();
    rig.server_says("Asterisk Call Manager/11.0.0\r\n");
    let login = rig.written();
    assert_eq!(login.len(), 1, "the queued action waits");
    let id = login[0].action_id().unwrap().to_string();
    rig.server_says(&format!(
        "Response: Error\r\nActionID: {id}\r\nMessage: Authentication failed\r\n\r\n"
    ));
    // The queued Ping was never written: it waits for a later login, or
    // its own deadline.
    assert!(rig.completions().is_empty());
    assert_eq!(
        rig.outputs,
        [
            SessionOutput::LoginFailed {
                message: "Authentication failed".to_owned()
            },
            SessionOutput::Close {
                reason: CloseReason::LoginFailed
            },
        ]
    );
    assert_eq!(rig.session.state(), SessionState::Disconnected);
    assert!(rig.session.poll_transmit().is_none(), "no retry is written");
    assert!(
        rig.logs
            .iter()
            .any(|record| record.message == "login failed")
    );
    rig.tick(60_000);
    assert!(
        rig.session.poll_transmit().is_none(),
        "no retry later either"
    );
    let done = rig.completions();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].handle, queued);
    assert!(
        matches!(done[0].result, Err(AmiError::Timeout { .. })),
        "ended once, at its deadline: {:?}",
        done[0].result
    );
}

#[test]
fn login_failures_are_counted_by_reason_and_logged_once_per_streak() {
    use apn_ami_core::observe::{Level, LoginFailure, render_prometheus};
    let mut rig = Rig::new(config(AuthMethod::Plain));
    let refusals = [
        "Authentication failed",
        "Authentication failed",
        "Authentication failed",
        "Permission denied",
        "Events value not understood",
    ];
    for message in refusals {
        rig.connect();
        rig.server_says("Asterisk Call Manager/11.0.0\r\n");
        let login = rig.written();
        let id = login[0].action_id().unwrap().to_string();
        rig.server_says(&format!(
            "Response: Error\r\nActionID: {id}\r\nMessage: {message}\r\n\r\n"
        ));
    }
    let metrics = rig.session.metrics();
    assert_eq!(metrics.login_failures(LoginFailure::Authentication), 3);
    assert_eq!(metrics.login_failures(LoginFailure::Permission), 1);
    assert_eq!(metrics.login_failures(LoginFailure::Other), 1);
    let text = render_prometheus(&[metrics]);
    assert!(
        text.contains("ami_login_failures_total{server_key=\"pbx1\",server_host=\"127.0.0.1:5038\",reason=\"authentication\"} 3"),
        "{text}"
    );
    let errors = rig
        .logs
        .iter()
        .filter(|r| r.message == "login failed" && r.level == Level::Error)
        .count();
    assert_eq!(errors, 1, "one error line per streak, the rest at debug");
    rig.log_in();
    assert!(
        rig.logs
            .iter()
            .any(|r| r.message == "logged in after failed logins")
    );
}

#[test]
fn refused_challenge_fails_the_login() {
    let mut rig = Rig::new(config(AuthMethod::Md5));
    rig.connect();
    rig.server_says("Asterisk Call Manager/11.0.0\r\n");
    let id = rig.written()[0].action_id().unwrap().to_string();
    rig.server_says(&format!(
        "Response: Error\r\nActionID: {id}\r\nMessage: Must specify AuthType\r\n\r\n"
    ));
    assert!(rig.outputs.contains(&SessionOutput::LoginFailed {
        message: "Must specify AuthType".to_owned()
    }));
}

#[test]
fn nothing_but_the_handshake_is_written_before_login() {
    let mut rig = Rig::new(config(AuthMethod::Md5));
    let early = rig.submit(Action::new("CoreSettings").unwrap()).unwrap();
    rig.connect();
    let during = rig
        .submit(
            Action::builder("Command")
                .header("Command", "core show uptime")
                .build()
                .unwrap(),
        )
        .unwrap();
    rig.server_says("Asterisk Call Manager/11.0.0\r\n");
    let challenge = rig.written();
    assert_eq!(challenge.len(), 1);
    let id = challenge[0].action_id().unwrap().to_string();
    rig.server_says(&format!(
        "Response: Success\r\nActionID: {id}\r\nChallenge: 1\r\n\r\n"
    ));
    let login = rig.written();
    assert_eq!(login.len(), 1, "only the login");
    assert_eq!(login[0].first_value(), "Login");
    let id = login[0].action_id().unwrap().to_string();
    rig.server_says(&format!("Response: Success\r\nActionID: {id}\r\n\r\n"));
    let after = rig.written();
    let names: Vec<_> = after.iter().map(|f| f.first_value().to_string()).collect();
    assert_eq!(
        names,
        ["CoreSettings", "Command"],
        "queued actions go out after login, in order"
    );
    let sequences: Vec<_> = after
        .iter()
        .map(|f| {
            f.action_id()
                .unwrap()
                .to_string()
                .rsplit(':')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .collect();
    assert_eq!(sequences, [early.0, during.0]);
}

#[test]
fn queued_actions_time_out_before_login_and_are_not_sent() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    let handle = rig.submit(Action::new("Ping").unwrap()).unwrap();
    rig.tick(30_000);
    let done = rig.completions();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].handle, handle);
    assert!(matches!(done[0].result, Err(AmiError::Timeout { .. })));
    rig.log_in();
    assert!(rig.written().is_empty(), "the expired action is not sent");
}

#[test]
fn banner_timeout_closes() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    rig.connect();
    assert_eq!(
        rig.session.poll_timeout(),
        Some(rig.t0 + std::time::Duration::from_secs(10))
    );
    rig.tick(9_999);
    assert!(rig.outputs.is_empty());
    rig.tick(10_000);
    assert_eq!(
        rig.outputs,
        [SessionOutput::Close {
            reason: CloseReason::BannerTimeout
        }]
    );
    assert_eq!(rig.session.state(), SessionState::Disconnected);
}

#[test]
fn login_timeout_closes() {
    let mut rig = Rig::new(config(AuthMethod::Md5));
    rig.connect();
    rig.tick(1_000);
    rig.server_says("Asterisk Call Manager/11.0.0\r\n");
    rig.written();
    rig.tick(10_999);
    assert!(rig.outputs.is_empty());
    rig.tick(11_000);
    assert_eq!(
        rig.outputs,
        [SessionOutput::Close {
            reason: CloseReason::LoginTimeout
        }]
    );
}

#[test]
fn a_peer_that_is_not_ami_is_a_protocol_close() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    rig.connect();
    rig.server_says("SSH-2.0-OpenSSH_9.2\r\n");
    assert!(matches!(
        rig.outputs.as_slice(),
        [SessionOutput::Close {
            reason: CloseReason::Protocol(_)
        }]
    ));
    assert_eq!(rig.session.metrics().counters.protocol_errors, 1);
}
