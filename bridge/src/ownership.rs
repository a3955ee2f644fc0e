//! Who should own which server: rendezvous hashing over the live workers,
//! the preference; the lease in the key-value bucket is the truth. Pure
//! functions of what a worker saw, so the rules are tested without NATS.
//!
//! Every worker ranks the live workers for each server by a hash of
//! `(server, worker)`; the first is the server's preferred owner. A worker
//! takes a server's lease only when the lease is free and it is preferred;
//! it gives a lease back when another live worker is preferred. When a
//! worker joins, only the servers it now ranks first move (about one in
//! `workers + 1`); when one leaves, only its servers move.

use std::collections::BTreeSet;

/// The 64-bit FNV-1a of `server` and `worker`, mixed (SplitMix64's
/// finaliser) so that close names spread.
#[must_use]
pub fn rank(server: &str, worker: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for byte in server.bytes().chain([0xff]).chain(worker.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// The live worker that should own `server`: the highest rank, ties by
/// name.
#[must_use]
pub fn preferred<'w>(server: &str, workers: &'w BTreeSet<String>) -> Option<&'w str> {
    workers
        .iter()
        .max_by_key(|worker| (rank(server, worker), std::cmp::Reverse(worker.as_str())))
        .map(String::as_str)
}

/// What a worker should do about one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try to create the lease (it is free and this worker is preferred).
    Acquire,
    /// Keep the lease and renew it.
    Renew,
    /// Give the lease back: another live worker is preferred.
    Release,
    /// Nothing: another worker holds it, or should take it.
    Leave,
}

/// What `me` should do about `server`, given the live workers (`me`
/// among them) and who holds the lease now (`None` when it is free).
#[must_use]
pub fn decide(
    server: &str,
    me: &str,
    workers: &BTreeSet<String>,
    holder: Option<&str>,
) -> Decision {
    let preferred = preferred(server, workers);
    let mine = preferred == Some(me);
    match holder {
        None if mine => Decision::Acquire,
        Some(holder) if holder == me && (mine || preferred.is_none()) => Decision::Renew,
        Some(holder) if holder == me => {
            // Hand over only to a worker that is alive to take it.
            Decision::Release
        }
        // A lease held by a worker that is gone expires by itself.
        _ => Decision::Leave,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workers(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    fn servers() -> Vec<String> {
        (0..120).map(|n| format!("pbx-{n}")).collect()
    }

    #[test]
    fn every_server_has_exactly_one_preferred_worker_and_shares_are_fair() {
        let live = workers(&["w1", "w2", "w3"]);
        let mut counts = std::collections::BTreeMap::new();
        for server in servers() {
            let owner = preferred(&server, &live).expect("someone");
            *counts.entry(owner).or_insert(0) += 1;
            let acquiring: Vec<_> = live
                .iter()
                .filter(|me| decide(&server, me, &live, None) == Decision::Acquire)
                .collect();
            assert_eq!(acquiring.len(), 1, "{server}");
        }
        assert_eq!(counts.values().sum::<i32>(), 120);
        assert!(
            counts.values().all(|&n| (25..=55).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn a_joining_worker_moves_only_the_servers_it_now_ranks_first() {
        let before = workers(&["w1", "w2", "w3"]);
        let after = workers(&["w1", "w2", "w3", "w4"]);
        let mut moved = 0;
        for server in servers() {
            let old = preferred(&server, &before).unwrap();
            let new = preferred(&server, &after).unwrap();
            if old == new {
                assert_eq!(decide(&server, old, &after, Some(old)), Decision::Renew);
            } else {
                assert_eq!(new, "w4", "{server} moved between old workers");
                moved += 1;
                assert_eq!(decide(&server, old, &after, Some(old)), Decision::Release);
                assert_eq!(decide(&server, "w4", &after, Some(old)), Decision::Leave);
                assert_eq!(decide(&server, "w4", &after, None), Decision::Acquire);
            }
        }
        assert!((15..=45).contains(&moved), "about a quarter moved: {moved}");
    }

    #[test]
    fn a_leaving_worker_moves_only_its_servers_and_nobody_takes_a_held_lease() {
        let before = workers(&["w1", "w2", "w3"]);
        let after = workers(&["w1", "w3"]);
        for server in servers() {
            let old = preferred(&server, &before).unwrap();
            let new = preferred(&server, &after).unwrap();
            if old == "w2" {
                // Its lease still stands until it expires: nobody races it.
                assert_eq!(decide(&server, new, &after, Some("w2")), Decision::Leave);
                assert_eq!(decide(&server, new, &after, None), Decision::Acquire);
            } else {
                assert_eq!(old, new, "{server} moved though its owner stayed");
            }
        }
    }

    #[test]
    fn a_worker_that_sees_nobody_alive_keeps_what_it_holds() {
        let nobody = BTreeSet::new();
        assert_eq!(decide("pbx-1", "w1", &nobody, Some("w1")), Decision::Renew);
        assert_eq!(decide("pbx-1", "w1", &nobody, None), Decision::Leave);
    }
}
