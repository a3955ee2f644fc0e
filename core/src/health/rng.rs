//! [`SeededRng`]: the core's only source of randomness.

/// A small, fast, seeded generator (`SplitMix64`). The runtime passes the seed
/// (OS entropy in production, a fixed one in the simulator), so every jitter
/// is reproducible from it. Not for cryptography.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator starting from `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub const fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..=bound`, without modulo bias worth speaking of for the
    /// millisecond ranges it is used for.
    pub fn up_to(&mut self, bound: u64) -> u64 {
        match bound.checked_add(1) {
            // The high half of a 64×64-bit product: always below `span`.
            Some(span) => u64::try_from((u128::from(self.next_u64()) * u128::from(span)) >> 64)
                .unwrap_or(bound),
            None => self.next_u64(),
        }
    }
}
