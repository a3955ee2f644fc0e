//! The guarantees, one scenario each, every one asserting its numbers:
//! a flood, corruption, a heartbeat stall, partitions and restarts.

use std::time::Duration;

use apn_ami_core::cluster::{Route, ServerId};
use apn_ami_core::health::HealthState;
use apn_ami_core::protocol::Action;
use apn_ami_sim::{Fault, FaultPlan, Sim, SimConfig};

fn ping() -> Action {
    Action::new("Ping").expect("valid")
}

fn counters(sim: &Sim, node: usize) -> apn_ami_core::observe::Counters {
    sim.cluster
        .session(ServerId(node))
        .expect("a node")
        .metrics()
        .counters
}

/// Pings every server once per `every_ms` until `until_ms`.
fn traffic(sim: &mut Sim, nodes: usize, until_ms: u64, every_ms: u64) {
    let mut at = sim.now_ms();
    while at < until_ms {
        at += every_ms;
        sim.run_until(at);
        for node in 0..nodes {
            let _refusal_is_an_ending = sim.submit(ping(), Route::Server(ServerId(node)));
        }
    }
}

#[test]
fn flood_at_ten_times_load_drops_oldest_events_exactly_and_loses_no_response() {
    let mut config = SimConfig::new(3, 21);
    // The application takes 100 events a second: a third of the load.
    config.app_events_per_second = Some(100);
    let mut sim = Sim::new(config, FaultPlan::none());
    sim.run_until(100);
    // Normal load: 5 calls (25 events) a second per node; node 0 gets ten times that.
    let mut at = 100;
    while at < 30_000 {
        at += 100;
        sim.run_until(at);
        sim.generate_calls(0, 5);
        if at % 1_000 == 0 {
            sim.generate_calls(1, 5);
            sim.generate_calls(2, 5);
        }
        for node in 0..3 {
            sim.submit(ping(), Route::Server(ServerId(node)))
                .expect("healthy");
        }
    }
    sim.run_until(40_000);
    sim.check_endings();
    assert_eq!(sim.violation(), None);
    let flooded = counters(&sim, 0);
    let sent = sim.nodes[0].stats().events;
    let delivered = sim.events_by_node[0];
    assert!(flooded.dropped_events > 0, "the flood overflowed the queue");
    assert_eq!(
        sent,
        delivered + flooded.dropped_events + flooded.event_queue_depth,
        "every event sent is delivered, dropped (counted) or still queued"
    );
    println!(
        "flood: node 0 sent {sent} events, {delivered} delivered, {} dropped (oldest first), {} queued",
        flooded.dropped_events, flooded.event_queue_depth
    );
    for node in 1..3 {
        assert_eq!(
            counters(&sim, node).dropped_events,
            0,
            "node {node} is unaffected"
        );
    }
    let (ended, total) = sim.endings();
    assert_eq!(ended, total as usize, "each action ended once");
    assert!(
        sim.outcomes.values().all(|outcome| outcome == "Success"),
        "no response lost"
    );
    assert_eq!(sim.outcomes.len(), 3 * 299);
}

#[test]
fn corrupted_streams_recover_and_every_action_still_ends_once() {
    let mut config = SimConfig::new(3, 5);
    config.node.garbage_every = Some(7);
    config.node.oversized_every = Some(50);
    config.node.extra_blank_lines = true;
    let plan = FaultPlan {
        faults: Vec::new(),
        corrupt_per_mille: 30,
    };
    let mut sim = Sim::new(config, plan);
    traffic(&mut sim, 3, 30_000, 100);
    for node in 0..3 {
        sim.generate_calls(node, 50);
    }
    sim.heal();
    sim.run_until(150_000);
    sim.check_endings();
    assert_eq!(sim.violation(), None);
    let errors: u64 = (0..3)
        .map(|node| counters(&sim, node).protocol_errors)
        .sum();
    let discarded: u64 = (0..3)
        .map(|node| counters(&sim, node).frames_discarded)
        .sum();
    assert!(errors > 100, "garbage was seen and counted: {errors}");
    assert!(
        discarded > 10,
        "oversized frames were discarded and counted: {discarded}"
    );
    let successes = sim
        .outcomes
        .values()
        .filter(|outcome| *outcome == "Success")
        .count();
    assert!(
        successes * 10 > sim.outcomes.len() * 9,
        "the stream recovers: {successes} of {}",
        sim.outcomes.len()
    );
    println!(
        "corruption: {errors} protocol errors, {discarded} frames discarded, {successes}/{} actions succeeded",
        sim.outcomes.len()
    );
    assert!(
        sim.all_healthy(),
        "every node is logged in after the corruption stops"
    );
}

#[test]
fn a_stalled_node_degrades_is_avoided_then_reset_and_reconnected() {
    let plan = FaultPlan {
        faults: vec![(1_000, Fault::Mute(1, Duration::from_secs(120)))],
        corrupt_per_mille: 0,
    };
    let mut sim = Sim::new(SimConfig::new(3, 8), plan);
    sim.run_until(500);
    let mut degraded_seen = false;
    let mut routed_to_stalled = 0;
    let mut at = 500;
    while at < 90_000 {
        at += 250;
        sim.run_until(at);
        let stalled = sim.cluster.health(ServerId(1));
        degraded_seen |= stalled == Some(HealthState::Degraded);
        if let Ok(handle) = sim.submit(ping(), Route::Any)
            && handle.server == Some(ServerId(1))
            && stalled != Some(HealthState::Healthy)
        {
            routed_to_stalled += 1;
        }
    }
    assert!(degraded_seen, "the missed heartbeat degraded the node");
    assert_eq!(
        routed_to_stalled, 0,
        "routing avoided the node while it was not healthy"
    );
    let failures = counters(&sim, 1).heartbeat_failures;
    assert!(failures >= 3, "heartbeats missed: {failures}");
    let reconnects: Vec<_> = sim
        .connect_times
        .iter()
        .filter(|&&(_, node)| node == 1)
        .collect();
    assert!(
        reconnects.len() >= 2,
        "reset and reconnected: {reconnects:?}"
    );
    sim.heal();
    sim.run_until(200_000);
    sim.check_endings();
    assert_eq!(sim.violation(), None);
    assert!(sim.all_healthy());
}

#[test]
fn partitions_and_restarts_with_traffic_in_flight() {
    let plan = FaultPlan {
        faults: vec![
            // One millisecond after a round of pings: they are in flight.
            (2_001, Fault::Partition(0, Duration::from_secs(25))),
            (4_001, Fault::Crash(1, Duration::from_secs(10))),
            (6_001, Fault::Reset(2)),
            (30_001, Fault::Crash(0, Duration::from_secs(3))),
        ],
        corrupt_per_mille: 0,
    };
    let mut sim = Sim::new(SimConfig::new(3, 13), plan);
    traffic(&mut sim, 3, 60_000, 50);
    sim.heal();
    sim.run_until(180_000);
    sim.check_endings();
    assert_eq!(sim.violation(), None);
    assert!(sim.all_healthy(), "every node is back");
    let lost = sim
        .outcomes
        .values()
        .filter(|o| o.contains("connection was lost"))
        .count();
    let timed_out = sim
        .outcomes
        .values()
        .filter(|o| o.starts_with("no answer"))
        .count();
    let (submitted, refused) = sim.submitted();
    println!(
        "partitions and restarts: {submitted} actions, {refused} refused, {lost} lost with the connection, {timed_out} timed out"
    );
    assert!(lost + timed_out > 0, "faults hit traffic in flight");
    for node in 0..3 {
        assert_eq!(
            sim.nodes[node].stats().actions_before_login,
            0,
            "node {node}: nothing before login"
        );
    }
}

#[test]
fn writes_split_at_every_byte_still_carry_every_action() {
    let mut config = SimConfig::new(2, 4);
    config.link.window = 1;
    let mut sim = Sim::new(config, FaultPlan::none());
    traffic(&mut sim, 2, 10_000, 250);
    sim.generate_calls(0, 3);
    sim.run_until(30_000);
    sim.check_endings();
    assert_eq!(sim.violation(), None);
    assert_eq!(sim.outcomes.len(), 2 * 40);
    assert!(sim.outcomes.values().all(|outcome| outcome == "Success"));
    assert_eq!(
        sim.events_by_node[0],
        1 + 15,
        "FullyBooted and three calls, byte by byte"
    );
}

#[test]
fn a_node_that_rejects_logins_opens_the_breaker_and_is_never_used() {
    let mut config = SimConfig::new(2, 6);
    config.node.reject_logins = false;
    let mut sim = Sim::new(config, FaultPlan::none());
    sim.nodes[1].config_mut().reject_logins = true;
    traffic(&mut sim, 2, 60_000, 500);
    sim.run_until(70_000);
    sim.check_endings();
    assert_eq!(sim.violation(), None);
    assert_eq!(
        sim.cluster.health(ServerId(1)),
        Some(HealthState::CircuitOpen),
        "refused logins opened the breaker"
    );
    let attempts = sim
        .connect_times
        .iter()
        .filter(|&&(_, node)| node == 1)
        .count();
    assert!(
        (2..=12).contains(&attempts),
        "backed off, no tight loop: {attempts} attempts in 60 s"
    );
    assert!(
        sim.outcomes
            .keys()
            .all(|handle| handle.server == Some(ServerId(0))),
        "only the good node answered"
    );
}
