//! Ending is final and happens once: after a graceful shutdown or an
//! emergency abort no connection comes up or stays up (not even one whose
//! connect was under way), and a connection is asked to close exactly once,
//! with no timer left armed behind it.

#[path = "support/cluster_rig.rs"]
mod cluster_rig;
#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use apn_ami_core::cluster::{ClusterOutput, Route, Routing, ServerId};
use apn_ami_core::connection::{AuthMethod, CloseReason, SessionOutput, SessionState};
use apn_ami_core::correlation::AmiError;
use apn_ami_core::protocol::Action;
use cluster_rig::{Behaviour, ClusterRig, cluster_config};
use rig::{Rig, config};

fn closes(outputs: &[SessionOutput]) -> usize {
    outputs
        .iter()
        .filter(|output| matches!(output, SessionOutput::Close { .. }))
        .count()
}

/// Ticks every 100 ms up to `until` ms, as a runtime with a stale timer
/// might, collecting what the session asks for.
fn tick_through(rig: &mut Rig, until: u64) {
    let mut ms = rig.ms;
    while ms < until {
        ms += 100;
        rig.tick(ms);
    }
}

#[test]
fn an_aborted_session_closes_a_connect_that_was_under_way_and_takes_nothing() {
    for connected_first in [false, true] {
        let mut rig = Rig::new(config(AuthMethod::Plain));
        rig.session.handle_connecting();
        if connected_first {
            rig.connect();
            rig.server_says("Asterisk Call Manager/11.0.0\r\n");
            assert!(
                rig.session.heap_size() > 0,
                "the parser's buffer and the login"
            );
        }
        let now = rig.now();
        rig.session.abort(CloseReason::MemoryBudget, now);
        rig.drain();
        assert_eq!(
            rig.session.heap_size(),
            0,
            "an abort frees every buffer at once"
        );
        rig.outputs.clear();
        // The connect finishes after the abort: the socket is closed again.
        rig.connect();
        rig.server_says("Asterisk Call Manager/11.0.0\r\n");
        assert!(rig.written().is_empty(), "no Login after an abort");
        assert_eq!(closes(&rig.outputs), 1, "closed at once");
        assert_eq!(rig.session.state(), SessionState::Disconnected);
        assert_eq!(
            rig.submit(Action::new("Ping").unwrap()).unwrap_err(),
            AmiError::ShuttingDown
        );
        tick_through(&mut rig, 60_000);
        assert!(rig.written().is_empty(), "no heartbeat, ever");
        assert_eq!(rig.session.poll_timeout(), None);
    }
}

#[test]
fn after_the_goodbye_the_close_is_asked_once_and_no_timer_is_left() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    rig.log_in();
    let now = rig.now();
    rig.session.shutdown(now);
    rig.drain();
    let logoff = rig.written();
    assert_eq!(logoff[0].first_value(), "Logoff");
    rig.answer(&logoff[0], "Message: Thanks for all the fish.\r\n");
    assert_eq!(closes(&rig.outputs), 1);
    assert_eq!(
        rig.session.poll_timeout(),
        None,
        "the close deadline is disarmed"
    );
    // The runtime is slow to close; time passes.
    tick_through(&mut rig, 30_000);
    assert_eq!(closes(&rig.outputs), 1, "no second Close");
    assert!(
        !rig.logs
            .iter()
            .any(|record| record.message.contains("no goodbye")),
        "no false warning"
    );
    let now = rig.now();
    rig.session.handle_disconnected(now);
    rig.drain();
    tick_through(&mut rig, 60_000);
    assert_eq!(closes(&rig.outputs), 1, "nothing after the disconnect");
    assert_eq!(rig.session.heap_size(), 0);
}

#[test]
fn after_a_disconnect_no_close_is_ever_asked_for() {
    // Every state a connection can be in when its socket drops.
    for stage in 0..4 {
        let mut rig = Rig::new(config(AuthMethod::Plain));
        match stage {
            0 => rig.connect(),
            1 => {
                rig.connect();
                rig.server_says("Asterisk Call Manager/11.0.0\r\n");
            }
            2 => rig.log_in(),
            _ => {
                rig.log_in();
                let now = rig.now();
                rig.session.shutdown(now);
                rig.drain();
            }
        }
        rig.submit(Action::new("Ping").unwrap()).ok();
        rig.outputs.clear();
        let now = rig.now();
        rig.session.handle_disconnected(now);
        rig.drain();
        rig.outputs
            .retain(|output| matches!(output, SessionOutput::Close { .. }));
        tick_through(&mut rig, 120_000);
        rig.server_says("Response: Success\r\n\r\n");
        assert_eq!(closes(&rig.outputs), 0, "stage {stage}: {:?}", rig.outputs);
    }
}

#[test]
fn an_emergency_shutdown_closes_a_connect_under_way_and_nothing_reconnects() {
    let mut config = cluster_config(2, Routing::RoundRobin);
    config.memory_budget_bytes = 400_000;
    let mut rig = ClusterRig::new(config, 1);
    rig.behaviour[1] = Behaviour::Hold;
    rig.tick(0);
    assert_eq!(rig.connects.len(), 2, "both connects asked for");
    rig.flood(ServerId(0), 5_000);
    assert!(
        rig.outputs
            .iter()
            .any(|o| matches!(o, ClusterOutput::EmergencyShutdown { .. }))
    );
    // Server 1's connect completes only now.
    rig.outputs.clear();
    let now = rig.now();
    rig.cluster.handle_connected(ServerId(1), now);
    rig.cluster
        .handle_input(ServerId(1), b"Asterisk Call Manager/11.0.0\r\n", now);
    assert!(
        rig.cluster.poll_transmit().is_none(),
        "no Login goes to a connection opened after the emergency"
    );
    rig.pump();
    let closed: Vec<_> = rig
        .outputs
        .iter()
        .filter_map(|o| match o {
            ClusterOutput::Close { server, .. } => Some(*server),
            _ => None,
        })
        .collect();
    assert_eq!(closed, [ServerId(1)], "the late connection is closed once");
    let connects = rig.connects.len();
    rig.run_until(600_000);
    assert_eq!(
        rig.connects.len(),
        connects,
        "no reconnect after an emergency"
    );
    assert_eq!(rig.cluster.poll_timeout(), None, "no timer left");
    assert_eq!(rig.ping(Route::Any).unwrap_err(), AmiError::ShuttingDown);
}
