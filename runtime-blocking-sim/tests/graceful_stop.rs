//! A node stopped gracefully under traffic, as `core stop gracefully` does
//! on a real Asterisk: it answers every action "Asterisk is shutting down"
//! while its calls end, then sends its `Shutdown` event and closes, and
//! comes back after a while. Over seeds: once the client knows the node is
//! draining, no new action goes to it until it is back; every action ends
//! exactly once; and with `Restart: True` the node is used again about a
//! base delay after it answers again.

use apn_ami_core::cluster::{Route, ServerId};
use apn_ami_core::health::HealthState;
use apn_ami_core::protocol::Action;
use apn_ami_sim::{Fault, FaultPlan, Sim, SimConfig};
use std::time::Duration;

const STOP_AT_MS: u64 = 10_000;
const DRAINING: Duration = Duration::from_secs(5);
const DOWN: Duration = Duration::from_secs(8);
/// When the stopped node accepts connections again.
const ANSWERS_AGAIN_MS: u64 = 23_000;

/// Runs one seed; returns how long after the node answers again it was
/// logged in and routable, in virtual ms.
fn run(seed: u64, restart: bool) -> u64 {
    let plan = FaultPlan {
        faults: vec![(STOP_AT_MS, Fault::GracefulStop(0, DRAINING, DOWN, restart))],
        corrupt_per_mille: 0,
    };
    let mut sim = Sim::new(SimConfig::new(3, seed), plan);
    let mut draining_known_at = None;
    let mut back_at = None;
    let mut at = 0;
    while at < 60_000 {
        at += 50;
        sim.run_until(at);
        let health = sim.cluster.health(ServerId(0));
        if at > STOP_AT_MS && draining_known_at.is_none() && health == Some(HealthState::Draining) {
            draining_known_at = Some(at);
        }
        if at >= ANSWERS_AGAIN_MS && back_at.is_none() && health == Some(HealthState::Healthy) {
            back_at = Some(at);
        }
        if at % 1_000 == 0 {
            sim.generate_calls(usize::try_from(at / 1_000 % 3).unwrap_or(0), 3);
        }
        if let Ok(handle) = sim.submit(Action::new("Ping").expect("valid"), Route::Any) {
            let drained = draining_known_at.is_some() && back_at.is_none();
            assert!(
                !(drained && handle.server == Some(ServerId(0))),
                "seed {seed}: an action was routed to the draining node at {at} ms"
            );
        }
        assert_eq!(sim.violation(), None, "seed {seed}");
    }
    let known = draining_known_at.unwrap_or_else(|| panic!("seed {seed}: never seen draining"));
    assert!(
        known < STOP_AT_MS + 1_000,
        "seed {seed}: draining known at {known} ms, the stop began at {STOP_AT_MS} ms"
    );
    assert!(
        sim.nodes[0].stats().shutting_down_answers >= 1,
        "seed {seed}: the node answered 'shutting down'"
    );
    // Time for the last actions to end.
    sim.run_until(at + 60_000);
    sim.check_endings();
    assert_eq!(sim.violation(), None, "seed {seed}");
    back_at.unwrap_or_else(|| panic!("seed {seed}: never back")) - ANSWERS_AGAIN_MS
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

#[test]
fn a_graceful_stop_drains_the_node_and_restart_true_brings_it_back_fast() {
    let with: Vec<u64> = (0..15).map(|seed| run(seed, true)).collect();
    let without: Vec<u64> = (0..15).map(|seed| run(seed, false)).collect();
    let (with, without) = (median(with), median(without));
    println!(
        "used again {with} ms (median) after it answers, with Restart: True; {without} ms without"
    );
    // The base delay is 500 ms; the login and the 50 ms sampling add a little.
    assert!(with <= 750, "{with} ms");
    assert!(without > with, "{without} ms vs {with} ms");
}
