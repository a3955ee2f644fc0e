//! Memory accounting covers everything held (queued actions, list vectors,
//! log records, completions waiting in the cluster), budgets refuse what
//! would pass them, and the bounds agree: a long queue built before the
//! login is written as the outbound buffer drains, never overflowing it.

#[path = "support/cluster_rig.rs"]
mod cluster_rig;
#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use apn_ami_core::cluster::{Route, Routing, ServerId};
use std::fmt::Write as _;

use apn_ami_core::connection::{AuthMethod, SessionOutput, SessionState, SubmitOptions};
use apn_ami_core::correlation::{AmiError, Bound};
use apn_ami_core::protocol::Action;
use cluster_rig::{ClusterRig, cluster_config};
use rig::{Rig, config};

/// An action of about `kib` KiB: `kib` headers of 1000 bytes.
fn large(kib: usize) -> Action {
    let mut builder = Action::builder("UserEvent").header("UserEvent", "Bulk");
    for n in 0..kib {
        builder = builder.header(&format!("Data{n}"), "x".repeat(1000));
    }
    builder.build().expect("within Asterisk's limits")
}

#[test]
fn actions_queued_before_login_are_counted_and_the_budget_refuses_more() {
    let mut config = config(AuthMethod::Plain);
    config.max_queued_before_login = 1024;
    config.memory_budget_bytes = 64 * 1024 * 1024;
    let mut rig = Rig::new(config);
    let now = rig.now();
    for _ in 0..300 {
        rig.session
            .submit(large(100), SubmitOptions::default(), now)
            .expect("room");
    }
    let held = rig.session.heap_size();
    assert!(
        held >= 300 * 100 * 1000,
        "300 actions of 100 KB are held, heap_size says {held}"
    );

    let mut tight = rig::config(AuthMethod::Plain);
    tight.max_queued_before_login = 1024;
    tight.memory_budget_bytes = 8 * 1024 * 1024;
    let mut rig = Rig::new(tight);
    let now = rig.now();
    let mut accepted = 0;
    let refusal = loop {
        match rig
            .session
            .submit(large(100), SubmitOptions::default(), now)
        {
            Ok(_) => accepted += 1,
            Err(error) => break error,
        }
        assert!(rig.session.heap_size() <= 8 * 1024 * 1024);
    };
    assert!(
        matches!(
            refusal,
            AmiError::Rejected {
                bound: Bound::MemoryBudget,
                limit: 8_388_608,
                ..
            }
        ),
        "{refusal:?}"
    );
    assert!((70..=84).contains(&accepted), "{accepted} accepted");
}

#[test]
fn an_action_larger_than_the_outbound_bound_is_refused_at_submit() {
    let mut config = config(AuthMethod::Plain);
    config.max_outbound_bytes = 16 * 1024;
    let mut rig = Rig::new(config);
    rig.log_in();
    let refusal = rig.submit(large(20)).unwrap_err();
    assert!(
        matches!(
            refusal,
            AmiError::Rejected {
                bound: Bound::OutboundBytes,
                limit: 16_384,
                ..
            }
        ),
        "{refusal:?}"
    );
    assert_eq!(
        rig.session.state(),
        SessionState::Ready,
        "the connection stays"
    );
}

#[test]
fn a_thousand_large_actions_queued_before_login_are_all_written_and_answered() {
    let mut config = config(AuthMethod::Plain);
    config.max_queued_before_login = 1024;
    config.registry.max_pending = 1024;
    config.max_outbound_bytes = 1024 * 1024;
    let mut rig = Rig::new(config);
    let now = rig.now();
    for _ in 0..1024 {
        rig.session
            .submit(large(8), SubmitOptions::default(), now)
            .expect("room");
    }
    rig.log_in();
    let mut answered = 0;
    loop {
        let pending = rig.session.poll_transmit().map_or(0, <[u8]>::len);
        assert!(
            pending <= 1024 * 1024,
            "the outbound bound holds: {pending}"
        );
        let written = rig.written_in_pieces(64 * 1024);
        if written.is_empty() {
            break;
        }
        let mut answers = String::new();
        for action in &written {
            let id = action.action_id().expect("an ActionID");
            write!(answers, "Response: Success\r\nActionID: {id}\r\n\r\n").unwrap();
            answered += 1;
        }
        rig.server_says(&answers);
    }
    assert_eq!(answered, 1024, "every queued action was written");
    let done = rig.completions();
    assert_eq!(done.len(), 1024);
    assert!(done.iter().all(|c| {
        c.result
            .as_ref()
            .is_ok_and(apn_ami_core::correlation::Response::is_success)
    }));
    assert!(
        !rig.outputs
            .iter()
            .any(|o| matches!(o, SessionOutput::Close { .. })),
        "the connection was never dropped"
    );
    assert_eq!(rig.session.state(), SessionState::Ready);
}

#[test]
fn log_records_waiting_to_be_drained_are_counted() {
    let mut config = config(AuthMethod::Plain);
    config.max_queued_before_login = 1;
    let mut rig = Rig::new(config);
    let now = rig.now();
    rig.session
        .submit(large(1), SubmitOptions::default(), now)
        .expect("queued");
    let before = rig.session.heap_size();
    // Each refusal is logged with the action's (redacted) headers; nobody
    // drains the log queue here.
    for _ in 0..50 {
        let refused = rig.session.submit(large(1), SubmitOptions::default(), now);
        assert!(refused.is_err());
    }
    let grown = rig.session.heap_size() - before;
    assert!(
        grown >= 50 * 1000,
        "50 records with a 1 KB field each: {grown}"
    );
    rig.drain();
    assert!(
        rig.session.heap_size() < before + grown,
        "draining frees them"
    );
}

#[test]
fn completions_waiting_in_the_cluster_are_counted() {
    let mut rig = ClusterRig::new(cluster_config(1, Routing::RoundRobin), 3);
    rig.tick(0);
    let now = rig.now();
    rig.cluster
        .submit(
            Action::builder("Command")
                .header("Command", "core show channels")
                .build()
                .unwrap(),
            Route::Server(ServerId(0)),
            SubmitOptions::default(),
            now,
        )
        .unwrap();
    let (server, bytes) = rig.cluster.poll_transmit().expect("the Command");
    let text = String::from_utf8_lossy(bytes).into_owned();
    let length = bytes.len();
    rig.cluster.consume(server, length);
    let id = text
        .lines()
        .find_map(|line| line.strip_prefix("ActionID: "))
        .expect("an ActionID")
        .to_owned();
    let before = rig.cluster.heap_size();
    let mut answer = format!("Response: Success\r\nActionID: {id}\r\n");
    for _ in 0..50 {
        write!(answer, "Output: {}\r\n", "y".repeat(900)).unwrap();
    }
    answer.push_str("\r\n");
    rig.cluster.handle_input(server, answer.as_bytes(), now);
    let held = rig.cluster.heap_size();
    assert!(
        held >= before + 45_000,
        "a 45 KB answer waits in the outputs: {before} -> {held}"
    );
    while rig.cluster.poll_output().is_some() {}
    assert!(
        rig.cluster.heap_size() + 45_000 <= held,
        "taken, it is gone"
    );
}
