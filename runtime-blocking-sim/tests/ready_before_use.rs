//! Actions submitted before any server has logged in, as an application
//! does that starts its client and sends at once. With `wait_for_server`
//! they wait in the cluster, in one bounded queue, and go to the first node
//! that logs in, whichever it is; when no node comes before their deadline
//! they end with `Timeout`. Over seeds, every action ends exactly once.

use std::time::Duration;

use apn_ami_core::cluster::{Route, ServerId};
use apn_ami_core::connection::SubmitOptions;
use apn_ami_core::protocol::Action;
use apn_ami_sim::{Fault, FaultPlan, Sim, SimConfig};

const ACTIONS: usize = 300;

fn waiting(timeout: Duration) -> SubmitOptions {
    SubmitOptions {
        wait_for_server: Some(true),
        timeout: Some(timeout),
        ..SubmitOptions::default()
    }
}

/// Nodes 0 and 1 are down from the start for `down`; node 2 is up.
fn plan(down: Duration, node_two_down: bool) -> FaultPlan {
    let mut faults = vec![(0, Fault::Crash(0, down)), (0, Fault::Crash(1, down))];
    if node_two_down {
        faults.push((0, Fault::Crash(2, down)));
    }
    FaultPlan {
        faults,
        corrupt_per_mille: 0,
    }
}

/// Submits `ACTIONS` pings before anything logged in, spread over the first
/// virtual millisecond, and runs until everything has ended.
fn run(seed: u64, plan: FaultPlan, timeout: Duration) -> Sim {
    let mut sim = Sim::new(SimConfig::new(3, seed), plan);
    for n in 0..ACTIONS {
        assert!(!sim.cluster.ever_logged_in(), "seed {seed}: too late");
        let action = Action::builder("Ping")
            .header("X-Order", n.to_string())
            .build()
            .expect("valid");
        let result = sim.submit_with(action, Route::Any, waiting(timeout));
        let handle = result.unwrap_or_else(|error| panic!("seed {seed}: refused: {error}"));
        assert_eq!(handle.server, None, "seed {seed}: it waits in the cluster");
    }
    sim.run_until(u64::try_from(timeout.as_millis()).expect("short") + 60_000);
    sim.check_endings();
    assert_eq!(sim.violation(), None, "seed {seed}");
    sim
}

#[test]
fn actions_sent_before_any_login_go_to_the_first_node_up() {
    for seed in 0..12 {
        let sim = run(
            seed,
            plan(Duration::from_secs(30), false),
            Duration::from_secs(20),
        );
        assert_eq!(sim.outcomes.len(), ACTIONS, "seed {seed}");
        let not_success: Vec<_> = sim
            .outcomes
            .iter()
            .filter(|(_, outcome)| outcome.as_str() != "Success")
            .collect();
        assert!(not_success.is_empty(), "seed {seed}: {not_success:?}");
        assert!(
            sim.ended_on
                .values()
                .all(|server| *server == Some(ServerId(2))),
            "seed {seed}: only node 2 was up"
        );
    }
}

#[test]
fn actions_waiting_for_nodes_that_never_come_time_out_once() {
    for seed in 0..12 {
        let sim = run(
            seed,
            plan(Duration::from_secs(60), true),
            Duration::from_secs(5),
        );
        assert_eq!(sim.outcomes.len(), ACTIONS, "seed {seed}");
        assert!(
            sim.outcomes
                .values()
                .all(|outcome| outcome.as_str() == "no answer within 5s"),
            "seed {seed}: {:?}",
            sim.outcomes.values().next()
        );
        assert!(sim.ended_on.values().all(Option::is_none), "seed {seed}");
        let metrics = sim.cluster.metrics_text();
        assert!(
            metrics.contains(&format!("ami_wait_timeouts_total {ACTIONS}\n")),
            "seed {seed}: {metrics}"
        );
    }
}
