//! Routing strategies: each one by example, and properties over random
//! health histories: no dispatch ever goes to an ineligible server, and a
//! sticky key stays put while its server is eligible.

#[path = "support/harness.rs"]
mod harness;

use apn_ami_core::cluster::{Failover, RoundRobin, RoutingStrategy, Sticky};
use harness::seeded_quickcheck;
use quickcheck::TestResult;

#[test]
fn round_robin_takes_turns_and_skips_ineligible_servers() {
    let mut router = RoundRobin::default();
    let all = [true, true, true];
    let turns: Vec<_> = (0..6).map(|_| router.choose(&all, None).unwrap()).collect();
    assert_eq!(turns, [0, 1, 2, 0, 1, 2]);
    let some = [true, false, true];
    let turns: Vec<_> = (0..4)
        .map(|_| router.choose(&some, None).unwrap())
        .collect();
    assert_eq!(turns, [0, 2, 0, 2]);
    assert_eq!(router.choose(&[false, false], None), None);
    assert_eq!(router.choose(&[], None), None);
}

#[test]
fn failover_takes_the_first_eligible_in_priority_order() {
    let mut router = Failover::new(vec![2, 0, 1]);
    assert_eq!(router.choose(&[true, true, true], None), Some(2));
    assert_eq!(router.choose(&[true, true, false], None), Some(0));
    assert_eq!(router.choose(&[false, true, false], None), Some(1));
    assert_eq!(router.choose(&[false, false, false], None), None);
    let mut unlisted = Failover::new(vec![5, 1]);
    assert_eq!(
        unlisted.choose(&[true, false], None),
        None,
        "server 0 is not in the list"
    );
    let mut ordered = Failover::in_order(3);
    assert_eq!(ordered.choose(&[false, true, true], None), Some(1));
}

#[test]
fn sticky_keeps_a_key_on_its_server_and_moves_only_its_keys() {
    let keys = ["pbx-a", "pbx-b", "pbx-c", "pbx-d"];
    let mut router = Sticky::new(keys);
    let all = [true; 4];
    let calls: Vec<String> = (0..200).map(|n| format!("PJSIP/{n}-0000")).collect();
    let placed: Vec<_> = calls
        .iter()
        .map(|call| router.choose(&all, Some(call.as_bytes())).unwrap())
        .collect();
    for (call, &server) in calls.iter().zip(&placed) {
        assert_eq!(router.preferred(call.as_bytes()), Some(server));
    }
    let per_server: Vec<_> = (0..4)
        .map(|s| placed.iter().filter(|&&p| p == s).count())
        .collect();
    assert!(
        per_server.iter().all(|&n| n > 20),
        "keys spread over servers: {per_server:?}"
    );
    // Server 1 goes away: only its keys move.
    let without_one = [true, false, true, true];
    for (call, &server) in calls.iter().zip(&placed) {
        let now = router.choose(&without_one, Some(call.as_bytes())).unwrap();
        if server == 1 {
            assert_ne!(now, 1);
        } else {
            assert_eq!(now, server, "{call} moved though its server is fine");
        }
    }
    assert_eq!(router.choose(&[false; 4], Some(b"x")), None);
    assert!(
        router.choose(&all, None).is_some(),
        "no key is the empty key"
    );
}

/// A random history: per step, flip some servers' health, then dispatch.
#[test]
fn sticky_spreads_actions_without_a_key_over_the_eligible_servers() {
    let mut router = Sticky::new(["pbx-a", "pbx-b", "pbx-c"]);
    let all = [true, true, true];
    let mut counts = [0; 3];
    for _ in 0..300 {
        counts[router.choose(&all, None).unwrap()] += 1;
    }
    assert_eq!(counts, [100, 100, 100], "no pile-up on one server");
    let some = [false, true, true];
    for _ in 0..10 {
        assert_ne!(router.choose(&some, None), Some(0));
    }
    assert_eq!(router.choose(&[false; 3], None), None);
    // Keys still stick.
    let first = router.choose(&all, Some(b"SIP/100")).unwrap();
    assert!((0..20).all(|_| router.choose(&all, Some(b"SIP/100")) == Some(first)));
}

fn history(servers: usize, flips: &[(u8, u8)]) -> Vec<Vec<bool>> {
    let mut eligible = vec![true; servers];
    flips
        .iter()
        .map(|&(server, coin)| {
            let index = usize::from(server) % servers;
            eligible[index] = coin % 3 != 0;
            eligible.clone()
        })
        .collect()
}

#[test]
fn no_strategy_ever_dispatches_to_an_ineligible_server() {
    #[allow(clippy::needless_pass_by_value)] // quickcheck hands inputs over by value
    fn property(servers: u8, flips: Vec<(u8, u8)>, keys: Vec<u16>) -> TestResult {
        let servers = usize::from(servers % 12) + 1;
        let names: Vec<String> = (0..servers).map(|n| format!("pbx{n}")).collect();
        let mut strategies: Vec<Box<dyn RoutingStrategy>> = vec![
            Box::new(RoundRobin::default()),
            Box::new(Failover::in_order(servers)),
            Box::new(Sticky::new(names.iter().map(String::as_str))),
        ];
        for (step, eligible) in history(servers, &flips).iter().enumerate() {
            let key = keys.get(step % keys.len().max(1)).map(|k| k.to_be_bytes());
            for strategy in &mut strategies {
                let chosen = strategy.choose(eligible, key.as_ref().map(<[u8; 2]>::as_slice));
                let any = eligible.iter().any(|&e| e);
                match chosen {
                    Some(index) if !eligible[index] => return TestResult::failed(),
                    None if any => return TestResult::failed(),
                    _ => {}
                }
            }
        }
        TestResult::passed()
    }
    seeded_quickcheck(2_000).quickcheck(property as fn(u8, Vec<(u8, u8)>, Vec<u16>) -> TestResult);
}

#[test]
fn a_sticky_key_moves_only_when_its_server_is_ineligible() {
    // Consistent (rendezvous) hashing: each key ranks all servers once and
    // for all, and goes to its best-ranked eligible server. So it stays on
    // its own (preferred) server whenever that server is eligible, whatever
    // the others do; and while it is not, it goes to the next in its fixed
    // ranking.
    #[allow(clippy::needless_pass_by_value)] // quickcheck hands inputs over by value
    fn property(servers: u8, flips: Vec<(u8, u8)>, key: Vec<u8>) -> bool {
        let servers = usize::from(servers % 12) + 1;
        let names: Vec<String> = (0..servers).map(|n| format!("node-{n}")).collect();
        let mut router = Sticky::new(names.iter().map(String::as_str));
        let preferred = router.preferred(&key).unwrap();
        for eligible in history(servers, &flips) {
            let Some(chosen) = router.choose(&eligible, Some(&key)) else {
                continue;
            };
            if eligible[preferred] && chosen != preferred {
                return false;
            }
            // The ranking is fixed: the chosen server beats every other
            // eligible one in a head-to-head.
            for other in (0..servers).filter(|&other| eligible[other] && other != chosen) {
                let mut pair = vec![false; servers];
                pair[chosen] = true;
                pair[other] = true;
                if router.choose(&pair, Some(&key)) != Some(chosen) {
                    return false;
                }
            }
        }
        true
    }
    seeded_quickcheck(2_000).quickcheck(property as fn(u8, Vec<(u8, u8)>, Vec<u8>) -> bool);
}
