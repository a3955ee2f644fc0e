//! A server that says it is shutting down is drained: no new action is
//! routed to it, what is pending ends normally, its health says so in
//! metrics and logs, and a `Restart: True` makes the next attempts retry at
//! the base delay so the server is used again soon after it answers. And
//! before any server is up, an action may wait for one.

#[path = "support/cluster_rig.rs"]
mod cluster_rig;
#[path = "support/frames.rs"]
mod frames;
#[path = "support/rig.rs"]
mod rig;

use apn_ami_core::cluster::{Route, Routing, ServerId};
use apn_ami_core::connection::{AuthMethod, SessionState, SubmitOptions};
use apn_ami_core::health::HealthState;
use apn_ami_core::protocol::Action;
use cluster_rig::{Behaviour, ClusterRig, cluster_config};
use rig::{Rig, config};

#[test]
fn a_server_answering_shutting_down_is_drained_and_no_longer_routed() {
    let mut rig = ClusterRig::new(cluster_config(2, Routing::RoundRobin), 9);
    rig.tick(0);
    rig.behaviour[0] = Behaviour::ShuttingDown;
    for _ in 0..20 {
        rig.ping(Route::Any).expect("a healthy server");
    }
    let on_first: Vec<_> = rig
        .completed
        .iter()
        .filter(|(handle, _)| handle.server == Some(ServerId(0)))
        .collect();
    assert_eq!(on_first.len(), 1, "only the action that revealed it");
    assert_eq!(
        on_first[0].1.as_deref(),
        Ok("Error Asterisk is shutting down"),
        "it ended normally, with the server's answer"
    );
    assert_eq!(rig.completed.len(), 20, "every action ended once");
    assert_eq!(rig.cluster.health(ServerId(0)), Some(HealthState::Draining));
    assert_eq!(
        rig.ping(Route::Server(ServerId(0))).unwrap_err(),
        apn_ami_core::correlation::AmiError::ServerUnavailable
    );
    let text = rig.cluster.metrics_text();
    assert!(
        text.contains("ami_server_health{server_key=\"pbx0\",server_host=\"127.0.0.1:5038\"} 4"),
        "{text}"
    );
    assert!(text.contains(
        "ami_server_drainings_total{server_key=\"pbx0\",server_host=\"127.0.0.1:5038\"} 1"
    ));
    assert!(rig.logs.iter().any(|r| r.message.contains("draining")));
}

#[test]
fn the_shutdown_event_drains_and_is_still_delivered() {
    let mut rig = ClusterRig::new(cluster_config(2, Routing::RoundRobin), 9);
    rig.tick(0);
    let now = rig.now();
    rig.cluster.handle_input(
        ServerId(0),
        b"Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\nRestart: False\r\n\r\n",
        now,
    );
    rig.pump();
    assert!(rig.events.contains(&ServerId(0)), "the application sees it");
    assert_eq!(rig.cluster.health(ServerId(0)), Some(HealthState::Draining));
    for _ in 0..10 {
        let handle = rig.ping(Route::Any).unwrap();
        assert_eq!(handle.server, Some(ServerId(1)));
    }
}

/// The gaps between connection attempts to server 0 after it closed, while
/// it refuses connections for `down_ms`, and when it is in use again.
fn attempts_after_close(restart: &str, down_ms: u64, seed: u64) -> (Vec<u64>, u64) {
    let mut rig = ClusterRig::new(cluster_config(1, Routing::RoundRobin), seed);
    rig.tick(0);
    let now = rig.now();
    let shutdown = format!("Event: Shutdown\r\nShutdown: Cleanly\r\nRestart: {restart}\r\n\r\n");
    rig.cluster
        .handle_input(ServerId(0), shutdown.as_bytes(), now);
    rig.behaviour[0] = Behaviour::Refuse;
    rig.cluster.handle_disconnected(ServerId(0), now);
    rig.pump();
    let closed_at = rig.ms;
    let before = rig.connects.len();
    rig.run_until(closed_at + down_ms);
    rig.behaviour[0] = Behaviour::Up;
    let up_at = rig.ms;
    let mut back = None;
    while back.is_none() && rig.ms < up_at + 600_000 {
        let next = rig.ms + 10;
        rig.run_until(next);
        if rig.cluster.health(ServerId(0)) == Some(HealthState::Healthy) {
            back = Some(rig.ms - up_at);
        }
    }
    let times: Vec<u64> = rig.connects[before..].iter().map(|(at, _)| *at).collect();
    let gaps = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    (gaps, back.expect("in use again"))
}

#[test]
fn restart_true_retries_at_the_base_delay_and_is_used_soon_after_it_answers() {
    // Down for 20 s: long enough for the backoff to grow and the breaker
    // to open when the server did not say it would come back.
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for seed in 1..=21 {
        let (gaps, back) = attempts_after_close("True", 20_000, seed);
        assert!(gaps.len() > 20, "seed {seed}: {gaps:?}");
        assert!(
            gaps.iter().all(|&gap| gap <= 510),
            "seed {seed}: every retry at the 500 ms base delay: {gaps:?}"
        );
        assert!(
            back <= 510,
            "seed {seed}: in use {back} ms after it answers"
        );
        with.push(back);
        let (gaps, back) = attempts_after_close("False", 20_000, seed);
        assert!(
            gaps.iter().any(|&gap| gap > 1_000),
            "seed {seed}: without a restart announced, the backoff grows: {gaps:?}"
        );
        without.push(back);
    }
    with.sort_unstable();
    without.sort_unstable();
    let (with, without) = (with[10], without[10]);
    eprintln!(
        "median time to use a restarted server: {with} ms with Restart: True, {without} ms without"
    );
    assert!(without > with, "{without} ms vs {with} ms");
}

#[test]
fn a_heartbeat_answered_shutting_down_drains_without_a_miss() {
    let mut rig = Rig::new(config(AuthMethod::Plain));
    rig.log_in();
    rig.tick(15_000);
    let ping = rig.written();
    assert_eq!(ping[0].first_value(), "Ping");
    let id = ping[0].action_id().unwrap().to_string();
    rig.server_says(&format!(
        "Response: Error\r\nActionID: {id}\r\nMessage: Asterisk is shutting down\r\n\r\n"
    ));
    assert_eq!(rig.session.state(), SessionState::Draining);
    assert_eq!(rig.session.metrics().counters.heartbeat_failures, 0);
    // It stays drained, and connected, while the server keeps answering.
    rig.tick(30_000);
    let ping = rig.written();
    let id = ping[0].action_id().unwrap().to_string();
    rig.server_says(&format!(
        "Response: Error\r\nActionID: {id}\r\nMessage: Asterisk is shutting down\r\n\r\n"
    ));
    assert_eq!(rig.session.state(), SessionState::Draining);
}

#[test]
fn an_action_that_may_wait_is_answered_after_the_first_login() {
    let mut rig = ClusterRig::new(cluster_config(1, Routing::RoundRobin), 4);
    rig.behaviour[0] = Behaviour::Hold;
    rig.tick(0);
    assert_eq!(
        rig.ping(Route::Any).unwrap_err(),
        apn_ami_core::correlation::AmiError::NoHealthyServer,
        "fail-fast stays the default"
    );
    let now = rig.now();
    let waiting = SubmitOptions {
        wait_for_server: Some(true),
        ..SubmitOptions::default()
    };
    let handle = rig
        .cluster
        .submit(Action::new("Ping").unwrap(), Route::Any, waiting, now)
        .expect("it waits for a server");
    rig.pump();
    assert!(rig.completed.is_empty());
    // The connect under way completes; the login goes first, then it.
    rig.behaviour[0] = Behaviour::Up;
    rig.cluster.handle_connected(ServerId(0), now);
    rig.cluster
        .handle_input(ServerId(0), b"Asterisk Call Manager/11.0.0\r\n", now);
    rig.pump();
    assert_eq!(rig.completed.len(), 1);
    assert_eq!(rig.completed[0].0, handle);
    assert!(
        rig.completed[0]
            .1
            .as_ref()
            .is_ok_and(|s| s.starts_with("Success"))
    );
}

#[test]
fn an_action_waiting_for_a_server_that_never_comes_times_out_once() {
    let mut rig = ClusterRig::new(cluster_config(1, Routing::RoundRobin), 4);
    rig.behaviour[0] = Behaviour::Refuse;
    rig.tick(0);
    let now = rig.now();
    let waiting = SubmitOptions {
        wait_for_server: Some(true),
        timeout: Some(std::time::Duration::from_secs(10)),
        ..SubmitOptions::default()
    };
    let handle = rig
        .cluster
        .submit(Action::new("Ping").unwrap(), Route::Any, waiting, now)
        .expect("it waits for a server");
    rig.run_until(9_999);
    assert!(rig.completed.is_empty(), "refused connects do not end it");
    assert!(rig.connects.len() > 3, "the server was retried meanwhile");
    rig.run_until(60_000);
    assert_eq!(rig.completed.len(), 1, "{:?}", rig.completed);
    assert_eq!(rig.completed[0].0, handle);
    assert_eq!(
        rig.completed[0].1,
        Err(apn_ami_core::correlation::AmiError::Timeout {
            after: std::time::Duration::from_secs(10)
        })
    );
}
