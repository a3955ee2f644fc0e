//! The old `Queues` action through the whole client: a node answers it as
//! Asterisk up to 14 did (the text of `queue show`, no `Response:`, no
//! `ActionID:`) while its calls keep producing events, over links that cut
//! the bytes anywhere; another node answers as Asterisk 15+ (an error).
//! Over seeds, every `Queues` ends exactly once with the whole text (or the
//! error), the events are all delivered, and nothing is taken for garbage.

use apn_ami_core::cluster::{Route, ServerId};
use apn_ami_core::protocol::Action;
use apn_ami_sim::{FaultPlan, LEGACY_QUEUES, LinkConfig, QueuesFormat, Sim, SimConfig};

/// The outcome the simulator records for the legacy answer.
fn expected() -> String {
    let text = LEGACY_QUEUES.trim_end_matches("\r\n");
    let lines: Vec<&str> = text.split("\r\n").collect();
    format!("headerless: {}", lines.join(" | "))
}

fn run(seed: u64, window: usize) {
    let mut config = SimConfig::new(2, seed);
    config.link = LinkConfig {
        window,
        ..LinkConfig::default()
    };
    let plan = FaultPlan {
        faults: Vec::new(),
        corrupt_per_mille: 0,
    };
    let mut sim = Sim::new(config, plan);
    sim.nodes[0].config_mut().queues_format = QueuesFormat::Legacy;
    sim.run_until(2_000);
    let mut queues = Vec::new();
    for step in 1..=100 {
        let at = 2_000 + step * 100;
        sim.generate_calls(usize::from(step % 2 == 1), 2);
        for server in [0, 1] {
            let handle = sim
                .submit(
                    Action::new("Queues").expect("valid"),
                    Route::Server(ServerId(server)),
                )
                .unwrap_or_else(|error| panic!("seed {seed}: refused: {error}"));
            queues.push((server, handle));
        }
        sim.run_until(at);
        assert_eq!(sim.violation(), None, "seed {seed}");
    }
    sim.run_until(60_000);
    sim.check_endings();
    assert_eq!(sim.violation(), None, "seed {seed}");
    let expected = expected();
    for (server, handle) in queues {
        let outcome = sim.outcomes.get(&handle).map(String::as_str);
        if server == 0 {
            assert_eq!(outcome, Some(expected.as_str()), "seed {seed}");
        } else {
            assert_eq!(outcome, Some("Error"), "seed {seed}");
        }
    }
    assert!(sim.events_by_node[0] > 0 && sim.events_by_node[1] > 0);
    let session = sim.cluster.session(ServerId(0)).expect("a session");
    assert_eq!(session.metrics().counters.resyncs, 0, "seed {seed}");
}

#[test]
fn old_queues_answers_end_their_actions_whole_among_events() {
    // Segments of one byte, a few bytes, and a socket's worth.
    for (seed, window) in (0..12).zip([1, 7, 1460].into_iter().cycle()) {
        run(seed, window);
    }
}
