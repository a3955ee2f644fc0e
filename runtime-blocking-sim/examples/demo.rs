//! A simulated cluster, no Asterisk needed: three fake nodes, five minutes of
//! virtual time with a crash, a partition and a stall, continuous actions
//! and calls. Prints the cluster's view every 30 s and its metrics at the end.
//!
//! `cargo run -p apn-ami-sim --example demo [seed]`

use std::time::Duration;

use apn_ami_core::cluster::{Route, ServerId};
use apn_ami_core::protocol::Action;
use apn_ami_sim::{Fault, FaultPlan, Sim, SimConfig};

const NODES: usize = 3;
const MINUTES: u64 = 5;

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(42);
    let plan = FaultPlan {
        faults: vec![
            (60_000, Fault::Crash(1, Duration::from_secs(20))),
            (120_000, Fault::Partition(2, Duration::from_secs(40))),
            (200_000, Fault::Stall(0, Duration::from_secs(30))),
        ],
        corrupt_per_mille: 0,
    };
    println!("apn-ami demo, seed {seed}: {NODES} fake nodes, {MINUTES} virtual minutes");
    println!("faults: {plan}\n");
    let mut sim = Sim::new(SimConfig::new(NODES, seed), plan);
    let mut refused = 0;
    let mut at = 0;
    while at < MINUTES * 60_000 {
        at += 200;
        sim.run_until(at);
        let key = (at / 200 % 17).to_be_bytes();
        if sim
            .submit(
                Action::new("Ping").expect("a valid action"),
                Route::Key(&key),
            )
            .is_err()
        {
            refused += 1;
        }
        if at % 2_000 == 0 {
            sim.generate_calls(usize::try_from(at / 2_000).unwrap_or(0) % NODES, 1);
        }
        if at % 30_000 == 0 {
            report(&sim, at, refused);
        }
    }
    sim.heal();
    sim.run_until(MINUTES * 60_000 + 30_000);
    sim.check_endings();
    match sim.violation() {
        Some(violation) => println!("\nINVARIANT BROKEN: {violation}"),
        None => println!(
            "\nevery action ended exactly once; trace hash {}",
            sim.trace_hash()
        ),
    }
    println!("\n{}", sim.cluster.metrics_text());
}

fn report(sim: &Sim, at: u64, refused: u64) {
    let succeeded = sim
        .outcomes
        .values()
        .filter(|outcome| *outcome == "Success")
        .count();
    let failed = sim.outcomes.len() - succeeded;
    let health: Vec<String> = (0..NODES)
        .map(|node| {
            format!(
                "node{node} {:?}",
                sim.cluster.health(ServerId(node)).expect("a node")
            )
        })
        .collect();
    println!(
        "{:>4} s  {}  | {succeeded} answered, {failed} failed, {refused} refused (no healthy server), {} events",
        at / 1_000,
        health.join(", "),
        sim.events_delivered
    );
}
