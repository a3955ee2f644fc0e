//! A real session over a real loopback socket to a fake node: the adapter
//! the runtimes and the CLI will test against.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use apn_ami_core::connection::{AuthMethod, Session, SessionConfig, SessionOutput, SubmitOptions};
use apn_ami_core::correlation::{InstanceId, ServerKey};
use apn_ami_core::observe::Secret;
use apn_ami_core::protocol::Action;
use apn_ami_sim::{NodeConfig, TcpNode};

#[allow(clippy::disallowed_methods)] // a real socket runs on the real clock
fn now() -> Instant {
    Instant::now()
}

/// A minimal blocking driver: write what the session has, read what came,
/// tick; until `done` says so or the round limit passes.
fn drive(
    session: &mut Session,
    stream: &mut TcpStream,
    outputs: &mut Vec<SessionOutput>,
    done: impl Fn(&[SessionOutput]) -> bool,
) {
    let mut buffer = [0u8; 16 * 1024];
    for _ in 0..2_000 {
        while let Some(bytes) = session.poll_transmit() {
            let count = bytes.len();
            stream.write_all(bytes).expect("write");
            session.consume(count);
        }
        match stream.read(&mut buffer) {
            Ok(0) => {
                session.handle_disconnected(now());
            }
            Ok(count) => session.handle_input(&buffer[..count], now()),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("read: {error}"),
        }
        session.handle_timeout(now());
        while let Some(output) = session.poll_output() {
            outputs.push(output);
        }
        if done(outputs) {
            return;
        }
    }
    panic!("no progress: {outputs:?}");
}

#[test]
fn a_session_logs_in_and_is_answered_over_real_tcp() {
    let node = TcpNode::spawn(NodeConfig::new("admin", "secret"), 1).expect("loopback port");
    let mut stream = TcpStream::connect(node.address()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut config = SessionConfig::new(
        ServerKey::new("tcp1").unwrap(),
        &node.address().to_string(),
        "admin",
        Secret::new("secret"),
    );
    config.auth = AuthMethod::Md5;
    let mut session = Session::new(config, InstanceId(3)).unwrap();
    let mut outputs = Vec::new();
    session.handle_connected(now());
    drive(&mut session, &mut stream, &mut outputs, |o| {
        o.contains(&SessionOutput::LoggedIn)
    });

    for action in [
        Action::new("Ping").unwrap(),
        Action::new("CoreShowChannels").unwrap(),
        Action::builder("Command")
            .header("Command", "core show uptime")
            .build()
            .unwrap(),
    ] {
        session
            .submit(action, SubmitOptions::default(), now())
            .unwrap();
    }
    let completed = |o: &[SessionOutput]| {
        o.iter()
            .filter(|o| matches!(o, SessionOutput::Completed(_)))
            .count()
    };
    drive(&mut session, &mut stream, &mut outputs, |o| {
        completed(o) == 3
    });
    let responses: Vec<_> = outputs
        .iter()
        .filter_map(|o| match o {
            SessionOutput::Completed(done) => Some(done.result.as_ref().expect("answered")),
            _ => None,
        })
        .collect();
    assert!(responses.iter().all(|r| r.is_success()));
    assert_eq!(responses[1].items().len(), 3, "the list's items");
    assert_eq!(
        responses[2].output_lines().count(),
        2,
        "the command's output"
    );

    session.shutdown(now());
    drive(&mut session, &mut stream, &mut outputs, |o| {
        o.iter().any(|o| matches!(o, SessionOutput::Close { .. }))
    });
    drop(stream);
    let stats = node.stop().expect("the node thread ends");
    assert_eq!(stats.logins, 1);
    assert_eq!(stats.actions_before_login, 0);
    assert!(
        stats.actions >= 5,
        "challenge, login, three actions, logoff: {}",
        stats.actions
    );
}
