//! [`RoutingStrategy`]: which server an action goes to.

use std::fmt;

/// Picks a server for an action among the eligible ones.
///
/// `eligible[i]` says whether server `i` (in configuration order) may take
/// an action now; the cluster fills it from the health monitor before every
/// dispatch, so an ineligible server is never chosen. `key` is the action's
/// routing key (a channel, an account) when it has one. A strategy is
/// deterministic: the same state and inputs give the same choice.
pub trait RoutingStrategy: fmt::Debug {
    /// The chosen server, or `None` when no server is eligible.
    fn choose(&mut self, eligible: &[bool], key: Option<&[u8]>) -> Option<usize>;
}

/// Each eligible server in turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundRobin {
    next: usize,
}

impl RoutingStrategy for RoundRobin {
    fn choose(&mut self, eligible: &[bool], _key: Option<&[u8]>) -> Option<usize> {
        let count = eligible.len();
        let chosen = (0..count)
            .map(|step| (self.next + step) % count)
            .find(|&index| eligible[index])?;
        self.next = (chosen + 1) % count;
        Some(chosen)
    }
}

/// The first eligible server in a fixed order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    priority: Vec<usize>,
}

impl Failover {
    /// Servers in this order of preference; servers not listed are never
    /// chosen.
    #[must_use]
    pub const fn new(priority: Vec<usize>) -> Self {
        Self { priority }
    }

    /// Preference in configuration order, for `count` servers.
    #[must_use]
    pub fn in_order(count: usize) -> Self {
        Self::new((0..count).collect())
    }
}

impl RoutingStrategy for Failover {
    fn choose(&mut self, eligible: &[bool], _key: Option<&[u8]>) -> Option<usize> {
        self.priority
            .iter()
            .copied()
            .find(|&index| eligible.get(index).copied().unwrap_or(false))
    }
}

/// The same key on the same server: rendezvous (highest random weight)
/// hashing over the servers' keys. Each key ranks every server; it goes to
/// its best-ranked eligible server. So a key stays on its server while that
/// server is eligible, other servers' health never moves it, and when its
/// server is not eligible only its keys move, spread over the others.
/// Actions without a key have nothing to stick to: they take the eligible
/// servers in turn, instead of all piling on one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sticky {
    /// One hash per server, from its server key.
    server_hashes: Vec<u64>,
    /// Where keyless actions go.
    keyless: RoundRobin,
}

impl Sticky {
    /// Sticky routing over servers named by these keys, in configuration order.
    pub fn new<'a>(server_keys: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            server_hashes: server_keys
                .into_iter()
                .map(|key| fnv1a(key.as_bytes()))
                .collect(),
            keyless: RoundRobin::default(),
        }
    }

    /// The server `key` prefers when every server is eligible.
    #[must_use]
    pub fn preferred(&self, key: &[u8]) -> Option<usize> {
        self.best(&vec![true; self.server_hashes.len()], key)
    }

    fn best(&self, eligible: &[bool], key: &[u8]) -> Option<usize> {
        let key_hash = fnv1a(key);
        self.server_hashes
            .iter()
            .enumerate()
            .filter(|&(index, _)| eligible.get(index).copied().unwrap_or(false))
            .max_by_key(|&(index, &server)| (mix(key_hash ^ server), index))
            .map(|(index, _)| index)
    }
}

impl RoutingStrategy for Sticky {
    fn choose(&mut self, eligible: &[bool], key: Option<&[u8]>) -> Option<usize> {
        match key {
            Some(key) => self.best(eligible, key),
            None => self.keyless.choose(eligible, None),
        }
    }
}

/// FNV-1a, 64 bits: a stable hash of a key (the same in every process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The `SplitMix64` finaliser: spreads the combined hash over all bits.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
