//! [`Link`]: a simulated TCP connection between the client and one node.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use apn_ami_core::health::SeededRng;

/// A link's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// One-way delay of every segment.
    pub latency: Duration,
    /// Extra delay, up to this much, drawn per segment (order is kept).
    pub jitter: Duration,
    /// Largest segment: writes are cut into pieces of at most this size, and
    /// a writer can hand over at most this much per step (partial writes).
    pub window: usize,
}

impl Default for LinkConfig {
    /// 1 ms latency, 2 ms jitter, 1460-byte segments.
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(1),
            jitter: Duration::from_millis(2),
            window: 1460,
        }
    }
}

/// Bytes in flight one way, in order, each segment with its arrival time.
#[derive(Debug, Default)]
struct Direction {
    segments: VecDeque<(Instant, Vec<u8>)>,
    last_arrival: Option<Instant>,
}

impl Direction {
    fn send(&mut self, bytes: &[u8], arrival: Instant) {
        // TCP keeps order: a segment never overtakes the one before it.
        let arrival = self.last_arrival.map_or(arrival, |last| arrival.max(last));
        self.last_arrival = Some(arrival);
        self.segments.push_back((arrival, bytes.to_vec()));
    }

    fn next_arrival(&self) -> Option<Instant> {
        self.segments.front().map(|&(at, _)| at)
    }

    fn take_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.next_arrival()? > now {
            return None;
        }
        self.segments.pop_front().map(|(_, bytes)| bytes)
    }

    fn clear(&mut self) {
        self.segments.clear();
        self.last_arrival = None;
    }
}

/// One connection's two directions, with faults: a partition holds every
/// byte until it heals; a reset drops everything in flight.
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    to_node: Direction,
    to_client: Direction,
    /// While set, nothing arrives either way; arrivals wait for the heal.
    partitioned: bool,
    /// While set, nothing arrives at the client (a one-way stall).
    stalled_to_client: bool,
    /// Bytes flipped in transit so far (corruption fault).
    pub corrupted_bytes: u64,
}

impl Link {
    /// An idle link.
    #[must_use]
    pub fn new(config: LinkConfig) -> Self {
        Self {
            config,
            to_node: Direction::default(),
            to_client: Direction::default(),
            partitioned: false,
            stalled_to_client: false,
            corrupted_bytes: 0,
        }
    }

    /// The link's settings.
    #[must_use]
    pub const fn config(&self) -> LinkConfig {
        self.config
    }

    fn arrival(&self, now: Instant, rng: &mut SeededRng) -> Instant {
        let jitter_ms = u64::try_from(self.config.jitter.as_millis()).unwrap_or(u64::MAX);
        now + self.config.latency + Duration::from_millis(rng.up_to(jitter_ms))
    }

    /// The client wrote `bytes` (at most one window).
    pub fn send_to_node(&mut self, bytes: &[u8], now: Instant, rng: &mut SeededRng) {
        let at = self.arrival(now, rng);
        self.to_node.send(bytes, at);
    }

    /// The node wrote `bytes` (at most one window).
    pub fn send_to_client(&mut self, bytes: &[u8], now: Instant, rng: &mut SeededRng) {
        let at = self.arrival(now, rng);
        self.to_client.send(bytes, at);
    }

    /// The next segment due at the node.
    pub fn receive_at_node(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.partitioned {
            return None;
        }
        self.to_node.take_due(now)
    }

    /// The next segment due at the client, corrupted with probability
    /// `corrupt_per_mille`/1000 (one byte flipped).
    pub fn receive_at_client(
        &mut self,
        now: Instant,
        corrupt_per_mille: u64,
        rng: &mut SeededRng,
    ) -> Option<Vec<u8>> {
        if self.partitioned || self.stalled_to_client {
            return None;
        }
        let mut bytes = self.to_client.take_due(now)?;
        if corrupt_per_mille > 0 && !bytes.is_empty() && rng.up_to(999) < corrupt_per_mille {
            let at = usize::try_from(rng.up_to(bytes.len() as u64 - 1)).unwrap_or(0);
            bytes[at] ^= 0x5a;
            self.corrupted_bytes += 1;
        }
        Some(bytes)
    }

    /// The earliest arrival either way (none while partitioned; none to the
    /// client while that way is stalled).
    #[must_use]
    pub fn next_arrival(&self) -> Option<Instant> {
        if self.partitioned {
            return None;
        }
        let to_client = self
            .to_client
            .next_arrival()
            .filter(|_| !self.stalled_to_client);
        [self.to_node.next_arrival(), to_client]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether every byte the node wrote has reached the client (a node's
    /// own close comes after its last bytes, as TCP's FIN does).
    #[must_use]
    pub fn delivered_to_client(&self) -> bool {
        self.to_client.segments.is_empty()
    }

    /// Cuts the link (or heals it).
    pub fn set_partitioned(&mut self, partitioned: bool) {
        self.partitioned = partitioned;
    }

    /// Stalls (or resumes) the node-to-client way only.
    pub fn set_stalled_to_client(&mut self, stalled: bool) {
        self.stalled_to_client = stalled;
    }

    /// Whether the link is cut.
    #[must_use]
    pub const fn is_partitioned(&self) -> bool {
        self.partitioned
    }

    /// Drops everything in flight (a reset or a close).
    pub fn reset(&mut self) {
        self.to_node.clear();
        self.to_client.clear();
    }
}
